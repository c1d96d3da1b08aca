import { METRICS } from '@app/metrics';
import { Injectable } from '@nestjs/common';
import { Histogram, Registry } from 'prom-client';
import type { HttpRequest, HttpResponse, NextFn } from '../common/http-types';

/** Requests that matched no route share one label value, so a scan of random paths cannot add series. */
export const UNMATCHED_ROUTE = 'unmatched';
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * hes_http_request_duration_seconds{method,route,status}: `route` is the route template Express matched
 * (`/api/meters/:id/read-obis`), never the raw path, so the series stay bounded by the api's routes.
 */
@Injectable()
export class HttpMetrics {
  private readonly histogram: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: METRICS.HTTP_DURATION,
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
  }

  /** One request served outside Express (the push listener), `started` from process.hrtime.bigint(). */
  observe(method: string, route: string, status: number, started: bigint): void {
    this.histogram.observe(
      { method, route, status: String(status) },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }

  /** Express middleware timing every request until its response is finished. */
  middleware(): (req: HttpRequest, res: HttpResponse, next: NextFn) => void {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const { route, baseUrl } = req as HttpRequest & { route?: { path?: unknown }; baseUrl?: string };
        this.histogram.observe(
          {
            method: req.method,
            route: typeof route?.path === 'string' ? `${baseUrl ?? ''}${route.path}` : UNMATCHED_ROUTE,
            status: String(res.statusCode),
          },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      });
      next();
    };
  }
}
