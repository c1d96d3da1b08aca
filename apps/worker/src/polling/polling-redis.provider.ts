import { CommonEnv } from '@app/config';
import { logRedisOutages } from '@app/database';
import { Inject, Injectable, Logger, OnApplicationShutdown, Provider } from '@nestjs/common';
import Redis from 'ioredis';

/** The polling subsystem's own Redis connection (locks, heartbeats, interval stats); not BullMQ's. */
export const POLLING_REDIS = Symbol('POLLING_REDIS');

export const pollingRedisProvider: Provider = {
  provide: POLLING_REDIS,
  inject: [CommonEnv],
  useFactory: (env: CommonEnv) => {
    const redis = new Redis(env.REDIS_URL, {
      connectionName: `hes-polling-${process.pid}`,
      // Per-meter lock commands issued in the same tick travel in one round trip.
      enableAutoPipelining: true,
      // While Redis is away a lock or stats command fails after a few tries instead of waiting.
      maxRetriesPerRequest: 3,
    });
    logRedisOutages(redis, new Logger('PollingRedis'), 'Redis (polling)');
    return redis;
  },
};

/** Closes the connection in the last shutdown phase, after the BullMQ workers have drained. */
@Injectable()
export class PollingRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(POLLING_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
