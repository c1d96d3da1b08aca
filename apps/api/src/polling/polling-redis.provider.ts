import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';

/** The api's polling Redis connection (reconciliation lock, worker heartbeats, interval stats). */
export const API_POLLING_REDIS = Symbol('API_POLLING_REDIS');

export const apiPollingRedisProvider: Provider = {
  provide: API_POLLING_REDIS,
  inject: [ConfigService],
  useFactory: (config: ConfigService) =>
    new Redis(config.getOrThrow<string>('REDIS_URL'), {
      connectionName: `hes-api-polling-${process.pid}`,
      maxRetriesPerRequest: 3,
    }),
};

@Injectable()
export class ApiPollingRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(API_POLLING_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
