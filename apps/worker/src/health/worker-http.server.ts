import { listen, WorkerEnv } from '@app/config';
import { metricsScrapeAllowed } from '@app/metrics';
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { WorkerReadiness } from './worker-readiness.service';

/** What the worker's listener serves (probes in docker-compose.yml and deploy/k8s use these). */
export const WORKER_HTTP_PATHS = {
  live: '/health/live',
  ready: '/health/ready',
  metrics: '/metrics',
} as const;

/**
 * The worker's only HTTP surface, on WORKER_HTTP_PORT (0: none): `/health/live`, `/health/ready` (503
 * naming what is missing) and `/metrics` (Prometheus text; METRICS_TOKEN as a bearer token when set).
 * Plain node:http: three read-only routes do not need a framework on the worker.
 */
@Injectable()
export class WorkerHttpServer
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('WorkerHttp');
  private server?: Server;

  constructor(
    private readonly env: WorkerEnv,
    private readonly readiness: WorkerReadiness,
    private readonly registry: Registry,
  ) {}

  /** The port listened on (the configured one, or the one the system chose), if listening. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.env.WORKER_HTTP_PORT === 0) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    await listen(server, this.env.WORKER_HTTP_PORT, (err) => this.logger.warn(`worker http: ${err.message}`));
    this.server = server;
    this.logger.log(`worker http listening on port ${this.port}`);
  }

  beforeApplicationShutdown(): void {
    this.readiness.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, { message: 'method not allowed' });
      if (path === WORKER_HTTP_PATHS.live) return send(res, 200, { status: 'ok' });
      if (path === WORKER_HTTP_PATHS.ready) {
        const { ready, checks } = await this.readiness.check();
        return send(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks });
      }
      if (path === WORKER_HTTP_PATHS.metrics) {
        if (!metricsScrapeAllowed(req.headers.authorization, this.env.METRICS_TOKEN)) {
          return send(res, 401, { message: 'metrics need the METRICS_TOKEN bearer token' });
        }
        const body = await this.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.registry.contentType });
        res.end(body);
        return;
      }
      send(res, 404, { message: `no route ${path}` });
    } catch (err) {
      this.logger.warn(`worker http ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) send(res, 500, { message: 'internal error' });
      else res.destroy();
    }
  }
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const success = status < 400;
  const payload = success
    ? { success, data: body }
    : { success, message: body.message ?? body.status, error: body };
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(payload));
}
