import { ApiEnv } from '@app/config';
import { metricsScrapeAllowed } from '@app/metrics';
import { Controller, Get, Headers, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../auth/decorators';
import type { HttpResponse } from '../common/http-types';

/**
 * GET /metrics (outside the /api prefix, where Prometheus looks by default): Prometheus text format.
 * Not a user endpoint: when METRICS_TOKEN is set, only `Authorization: Bearer <METRICS_TOKEN>` may read it.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly registry: Registry,
    private readonly env: ApiEnv,
  ) {}

  @Public()
  @Get()
  async metrics(
    @Headers('authorization') authorization: string | undefined,
    @Res() res: HttpResponse,
  ): Promise<void> {
    if (!metricsScrapeAllowed(authorization, this.env.METRICS_TOKEN)) {
      throw new UnauthorizedException('metrics need the METRICS_TOKEN bearer token');
    }
    const body = await this.registry.metrics();
    res.setHeader('Content-Type', this.registry.contentType);
    res.end(body);
  }
}
