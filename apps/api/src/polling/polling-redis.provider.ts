import { CommonEnv } from '@app/config';
import { logRedisOutages } from '@app/database';
import { Inject, Injectable, Logger, OnApplicationShutdown, Provider } from '@nestjs/common';
import Redis from 'ioredis';

/** The api's polling Redis connection (reconciliation lock, worker heartbeats, interval stats). */
export const API_POLLING_REDIS = Symbol('API_POLLING_REDIS');

export const apiPollingRedisProvider: Provider = {
  provide: API_POLLING_REDIS,
  inject: [CommonEnv],
  useFactory: (env: CommonEnv) => {
    const redis = new Redis(env.REDIS_URL, {
      connectionName: `hes-api-polling-${process.pid}`,
      // A request that needs Redis while it is away fails within a second (503), it does not wait for it.
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
    });
    logRedisOutages(redis, new Logger('ApiPollingRedis'), 'Redis (polling)');
    return redis;
  },
};

@Injectable()
export class ApiPollingRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(API_POLLING_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
