import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, Dependency, DependencyUnavailableException, ok } from '../common';
import { LivenessDto, ReadinessDto } from './health.dto';
import { DependencyChecks, DependencyKey } from './dependency-checks';

type Readiness = { status: 'ok' } & Record<DependencyKey, 'up'>;

const DEPENDENCY_OF: Record<DependencyKey, Dependency> = {
  database: 'database',
  redis: 'redis',
  queues: 'redis',
};

/** Liveness and readiness, public like the rest of health (load balancers and orchestrators call them). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyChecks,
  ) {}

  @Public()
  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers (no dependency is checked).' })
  @ApiOkEnvelope(LivenessDto)
  live(): ApiOk<{ status: 'ok' }> {
    return ok({ status: 'ok' });
  }

  @Public()
  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: PostgreSQL, Redis and the BullMQ queues answer. 503 naming what is missing ' +
      '("database unavailable", "redis unavailable"), within about a second even when one hangs.',
  })
  @ApiOkEnvelope(ReadinessDto)
  @ApiErrors([503], { 503: 'Not ready: the message names the missing dependencies, or shutting down' })
  ready(): Promise<ApiOk<Readiness>> {
    return this.readiness();
  }

  @Public()
  @Get()
  @ApiOperation({ summary: 'Same as /api/health/ready (kept for existing probes).' })
  @ApiOkEnvelope(ReadinessDto)
  @ApiErrors([503], { 503: 'Not ready: the message names the missing dependencies, or shutting down' })
  check(): Promise<ApiOk<Readiness>> {
    return this.readiness();
  }

  private async readiness(): Promise<ApiOk<Readiness>> {
    if (this.checks.isStopping) throw new ServiceUnavailableException('shutting down');
    try {
      await this.health.check([
        () => this.checks.database(),
        () => this.checks.redis(),
        () => this.checks.queuesReachable(),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const failed = (err.getResponse() as { error?: Record<string, { message?: string }> }).error ?? {};
      const keys = Object.keys(failed) as DependencyKey[];
      const dependencies = [...new Set(keys.map((k) => DEPENDENCY_OF[k]))];
      throw new DependencyUnavailableException(
        dependencies,
        keys.map((k) => `${k}: ${failed[k]?.message ?? 'down'}`),
      );
    }
    return ok({ status: 'ok', database: 'up', redis: 'up', queues: 'up' });
  }
}
