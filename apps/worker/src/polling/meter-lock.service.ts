import { pollingKeys } from '@app/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { POLLING_REDIS } from './polling-redis.provider';

/** Deletes the lock only while it still holds our token (a lock that expired and was retaken is not ours). */
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
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

export interface MeterLockOptions {
  /** How long to wait for the lock before MeterBusyError. 0 = try once. Default 0. */
  waitMs?: number;
  /** Lock lifetime, a safety net if this process dies holding it. Default 2 × METER_TIMEOUT_MS + 5 s. */
  ttlMs?: number;
}

/**
 * Per-meter mutual exclusion across all worker processes (Redis SET NX PX + token-checked release), so a
 * scheduled poll and an on-demand command never talk to the same meter at the same time.
 * Scheduled polls try once and skip a busy meter; commands wait (`withMeterLock(..., { waitMs })`).
 */
@Injectable()
export class MeterLockService {
  private readonly keys: ReturnType<typeof pollingKeys>;
  private readonly defaultTtlMs: number;
  private readonly tokenPrefix = `${process.pid}-${randomBytes(4).toString('hex')}-`;
  private tokenSeq = 0;

  constructor(
    @Inject(POLLING_REDIS) private readonly redis: Redis,
    config: ConfigService,
  ) {
    this.keys = pollingKeys(config.get<string>('QUEUE_PREFIX') ?? 'hes');
    this.defaultTtlMs = 2 * Number(config.get('METER_TIMEOUT_MS') ?? 10000) + 5000;
  }

  /** Runs `fn` holding the meter's lock; throws MeterBusyError when it cannot be had within waitMs. */
  async withMeterLock<T>(meterId: string, fn: () => Promise<T>, options: MeterLockOptions = {}): Promise<T> {
    const waitMs = options.waitMs ?? 0;
    const started = Date.now();
    let token = await this.tryAcquire(meterId, options.ttlMs);
    while (!token && Date.now() - started < waitMs) {
      await new Promise((r) => setTimeout(r, Math.min(RETRY_EVERY_MS, waitMs)));
      token = await this.tryAcquire(meterId, options.ttlMs);
    }
    if (!token) throw new MeterBusyError(meterId, Date.now() - started);
    try {
      return await fn();
    } finally {
      await this.release(meterId, token);
    }
  }

  /** One attempt; the token to release with, or null when someone else holds the meter. */
  async tryAcquire(meterId: string, ttlMs = this.defaultTtlMs): Promise<string | null> {
    const token = `${this.tokenPrefix}${++this.tokenSeq}`;
    const ok = await this.redis.set(this.keys.meterLock(meterId), token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? token : null;
  }

  async release(meterId: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.meterLock(meterId), token).catch(() => undefined);
  }
}
