import { Logger } from '@nestjs/common';

/**
 * Logs the first failure of an outage at warn and the recovery once, so a 60 s outage is two log lines
 * instead of one per dead connection; what happened meanwhile is counted.
 */
export class OutageLog {
  private down = false;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  failed(err: Error): void {
    this.failures++;
    if (this.down) return;
    this.down = true;
    this.logger.warn(`${this.what} connection lost: ${err.message}; reconnecting`);
  }

  recovered(): void {
    if (!this.down) return;
    this.logger.log(`${this.what} connection restored after ${this.failures} connection error(s)`);
    this.down = false;
    this.failures = 0;
  }
}

/** What logRedisOutages needs of an ioredis client. */
interface RedisEvents {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/**
 * Logs a Redis connection's outages once each (ioredis reconnects by itself): its 'error' events start
 * one, 'ready' ends it.
 */
export function logRedisOutages(redis: RedisEvents, logger: Logger, what: string): void {
  const outage = new OutageLog(logger, what);
  redis.on('error', (err: Error) => outage.failed(err));
  redis.on('ready', () => outage.recovered());
}
