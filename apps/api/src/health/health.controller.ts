import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Pool } from 'pg';
import { PG_POOL } from '@app/database';
import { Public } from '../auth/decorators';
import { ApiOk, ok } from '../common';

const DB_CHECK_TIMEOUT_MS = 2000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Public()
  @Get()
  @ApiOperation({
    summary: 'Liveness and database reachability (public). 503 when PostgreSQL does not answer.',
  })
  async check(): Promise<ApiOk<{ status: 'ok'; database: 'up' }>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DB_CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.pool.query('select 1'), timeout]);
    } catch {
      throw new ServiceUnavailableException('Database is not reachable');
    } finally {
      clearTimeout(timer);
    }
    return ok({ status: 'ok', database: 'up' });
  }
}
