import { WorkerEnv } from '@app/config';
import { pollingKeys } from '@app/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Mutex } from 'redis-semaphore';
import { POLLING_REDIS } from './polling-redis.provider';

const RETRY_EVERY_MS = 20;

export class MeterBusyError extends Error {
  override readonly name = 'MeterBusyError';
  constructor(
    readonly meterId: string,
    waitedMs: number,
  ) {
    super(`meter ${meterId} is busy (another poll or command holds it; waited ${waitedMs} ms)`);
  }
}

/** A meter lock this process holds; release() is safe to call more than once and never throws. */
export interface HeldMeterLock {
  release(): Promise<void>;
}

type LockClient = ConstructorParameters<typeof Mutex>[0];

/**
 * The Redis client redis-semaphore gets. Its refresh runs in a timer with no error handling, so a Redis
 * error there would be an unhandled rejection (fatal in Node 20). Script calls that fail for any reason
 * but a missing script (which the library handles itself) answer 0 instead: for a refresh that is "lock
 * lost" (reported through onLockLost), for a release "nothing to release" (the lock then expires by its
 * TTL). Acquiring uses SET NX, whose errors still reach the caller.
 */
export function lockClient(redis: Redis): LockClient {
  const zeroOnError = (err: unknown): number => {
    if (err instanceof Error && err.message.includes('NOSCRIPT')) throw err;
    return 0;
  };
  return {
    get: redis.get.bind(redis),
    set: redis.set.bind(redis),
    zrem: redis.zrem.bind(redis),
    eval: (...args: unknown[]) =>
      (redis.eval as (...a: unknown[]) => Promise<unknown>)(...args).catch(zeroOnError),
    evalsha: (...args: unknown[]) =>
      (redis.evalsha as (...a: unknown[]) => Promise<unknown>)(...args).catch(zeroOnError),
  } as unknown as LockClient;
}

/**
 * Per-meter mutual exclusion across all worker processes (redis-semaphore's Mutex: SET NX PX, extended
 * while held, token-checked release), so a scheduled poll and an on-demand command never talk to the
 * same meter at the same time. Scheduled polls try once and skip a busy meter; commands wait.
 */
@Injectable()
export class MeterLockService {
  private readonly logger = new Logger(MeterLockService.name);
  private readonly keys: ReturnType<typeof pollingKeys>;
  private readonly client: LockClient;
  /**
   * Lifetime of a lock in Redis: it only matters when a process dies holding it (the meter is free again
   * after at most this), so it is the same as a poll job's lock (POLL_JOB_LOCK_MS): a dead worker's batch
   * is taken over and its meters can be read at once. The holder extends it every third of it, so a
   * refresh may come late (a loaded machine, a slow Redis) without losing the lock.
   */
  private readonly ttlMs: number;

  constructor(@Inject(POLLING_REDIS) redis: Redis, env: WorkerEnv) {
    this.keys = pollingKeys(env.QUEUE_PREFIX);
    this.client = lockClient(redis);
    this.ttlMs = env.POLL_JOB_LOCK_MS;
  }

  /** Runs `fn` holding the meter's lock; throws MeterBusyError when it cannot be had within waitMs. */
  async withMeterLock<T>(
    meterId: string,
    fn: () => Promise<T>,
    options: { waitMs?: number } = {},
  ): Promise<T> {
    const waitMs = options.waitMs ?? 0;
    const started = Date.now();
    const lock = await this.acquire(meterId, waitMs);
    if (!lock) throw new MeterBusyError(meterId, Date.now() - started);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** One attempt; the held lock, or null when someone else holds the meter. Redis errors are thrown. */
  tryAcquire(meterId: string): Promise<HeldMeterLock | null> {
    return this.acquire(meterId, 0);
  }

  private async acquire(meterId: string, waitMs: number): Promise<HeldMeterLock | null> {
    const mutex = new Mutex(this.client, this.keys.meterLock(meterId), {
      lockTimeout: this.ttlMs,
      refreshInterval: Math.ceil(this.ttlMs / 3),
      acquireTimeout: Math.max(waitMs, 1000),
      acquireAttemptsLimit: waitMs > 0 ? Number.POSITIVE_INFINITY : 1,
      retryInterval: RETRY_EVERY_MS,
      onLockLost: (err) =>
        this.logger.warn(`meter ${meterId}: ${err.message} (Redis unreachable while held)`),
    });
    if (!(await mutex.tryAcquire())) return null;
    return { release: () => mutex.release().catch(() => undefined) };
  }
}
