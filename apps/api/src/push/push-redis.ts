import { ApiEnv } from '@app/config';
import { PUSH_SIGNATURE_MAX_AGE_S } from '@app/contracts';
import { logRedisOutages } from '@app/database';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';

export const PUSH_REDIS = Symbol('PUSH_REDIS');

export const pushRedisProvider = {
  provide: PUSH_REDIS,
  inject: [ApiEnv],
  useFactory: (env: ApiEnv): Redis => {
    const redis = new Redis(env.REDIS_URL, {
      connectionName: `hes-api-push-${process.pid}`,
      // Thousands of pushes a second: their checks share round trips.
      enableAutoPipelining: true,
      // Redis away: a push is answered 503 at once (the meter retries), never held until it is back.
      enableOfflineQueue: false,
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
    });
    logRedisOutages(redis, new Logger('PushRedis'), 'Redis (push)');
    return redis;
  },
};

/**
 * One round trip per push: remembers its signature (SET NX, as long as a signature is accepted, so a
 * replay within that time is refused; skipped when ARGV[2] is '0'), then counts it in the meter's
 * one-minute window. Returns -1 for a replay, else the meter's pushes in the current window.
 */
const ADMIT_SCRIPT = `
if ARGV[2] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return -1 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], 61) end
return n`;

export type Admission = 'ok' | 'replayed' | 'rate-limited';

/** Replay protection and the per-meter rate limit of pushes (Redis keys under QUEUE_PREFIX). */
@Injectable()
export class PushAdmission implements OnApplicationShutdown {
  private readonly prefix: string;
  private readonly limit: number;

  constructor(
    @Inject(PUSH_REDIS) private readonly redis: Redis & { admitPush?: unknown },
    env: ApiEnv,
  ) {
    this.prefix = `${env.QUEUE_PREFIX}:push`;
    this.limit = env.PUSH_RATE_LIMIT_PER_MINUTE;
    redis.defineCommand('admitPush', { numberOfKeys: 2, lua: ADMIT_SCRIPT });
  }

  /**
   * `signature` identifies the push (its HMAC): the same signature twice is a replay. Null: no replay
   * check, only the rate limit (the seed route, whose bodies carry no signature).
   */
  async admit(meterId: string, signature: string | null, nowMs = Date.now()): Promise<Admission> {
    const window = Math.floor(nowMs / 60_000);
    const admit = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>)
      .admitPush;
    const n = await admit.call(
      this.redis,
      `${this.prefix}:sig:${meterId}:${signature ?? ''}`,
      `${this.prefix}:rate:${meterId}:${window}`,
      // A signature stays acceptable for the max age on both sides of our clock.
      2 * PUSH_SIGNATURE_MAX_AGE_S,
      signature === null ? '0' : '1',
    );
    if (n < 0) return 'replayed';
    return n > this.limit ? 'rate-limited' : 'ok';
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
