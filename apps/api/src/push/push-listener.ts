import { ApiEnv } from '@app/config';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createServer, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { markPushRequest } from './push-port';

/**
 * The api's second listener, for meters (PUSH_PORT; 0: none). It serves the same Express app as the
 * operators' port, so pushes share the api's modules, pipes and error envelope; `pushPortGate` keeps each
 * port to its own routes. It stops taking connections when shutdown begins; pushes in flight finish.
 */
@Injectable()
export class PushListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PushListener');
  private server?: Server;

  constructor(
    private readonly env: ApiEnv,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** The port it listens on (the configured one), or undefined when off. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.env.PUSH_PORT === 0) return;
    const app = this.adapterHost.httpAdapter.getInstance<RequestListener>();
    const server = createServer((req, res) => {
      markPushRequest(req);
      app(req, res);
    });
    // Meters keep connections open between pushes; a dead one must not hold a socket forever.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.env.PUSH_PORT, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`push listener on port ${this.env.PUSH_PORT}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}
