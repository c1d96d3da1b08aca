import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';

/** The polling subsystem's own Redis connection (locks, heartbeats, interval stats); not BullMQ's. */
export const POLLING_REDIS = Symbol('POLLING_REDIS');

export const pollingRedisProvider: Provider = {
  provide: POLLING_REDIS,
  inject: [ConfigService],
  useFactory: (config: ConfigService) =>
    new Redis(config.getOrThrow<string>('REDIS_URL'), {
      connectionName: `hes-polling-${process.pid}`,
      // Per-meter lock commands issued in the same tick travel in one round trip.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 3,
    }),
};

/** Closes the connection in the last shutdown phase, after the BullMQ workers have drained. */
@Injectable()
export class PollingRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(POLLING_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
