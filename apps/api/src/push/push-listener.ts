import { ApiEnv, listen } from '@app/config';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PushHttpHandler } from './push-http';

/**
 * The api's second listener, for meters (PUSH_PORT; 0: none): a plain `node:http` server answering the
 * push routes only (PushHttpHandler), with no Express or Nest per request; the operators' port answers 404
 * to /push/* (`pushPortGate`). It opens once the app is up, stops taking connections when shutdown begins,
 * and the pushes in flight finish (and reach Redis) before the queue's connection closes.
 */
@Injectable()
export class PushListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PushListener');
  private server?: Server;

  constructor(
    private readonly env: ApiEnv,
    private readonly handler: PushHttpHandler,
  ) {}

  /** The port it listens on (the configured one), or undefined when off. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.env.PUSH_PORT === 0) return;
    const server = createServer(this.handler.handle);
    // Meters keep connections open between pushes; a dead one must not hold a socket forever.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await listen(server, this.env.PUSH_PORT, (err) => this.logger.warn(`push listener: ${err.message}`));
    this.server = server;
    this.logger.log(`push listener on port ${this.env.PUSH_PORT}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.handler.drain();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}
