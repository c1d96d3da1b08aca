import { WorkerEnv } from '@app/config';
import { pollingIntervalSettingKey, ReadingType } from '@app/contracts';
import { encodeReadValues } from '@app/database';
import { ReadMetrics } from '@app/metrics';
import { Injectable, Logger } from '@nestjs/common';
import type { MeterExchange } from './meter-reader';
import { PollingRepository, ReadToStore, StatusRules, StoredRead } from './polling.repository';

/** Reads written by one statement at most. */
export const STORE_MAX_ROWS = 1000;
/** How long a read waits for others to share its statement (bounded latency, far fewer round trips). */
export const STORE_COLLECT_MS = 50;
/** Backoff between tries of a store that failed: doubles from the first value up to the second. */
export const STORE_RETRY_FIRST_MS = 100;
export const STORE_RETRY_MAX_MS = 5000;
/** Tries of ONE read that PostgreSQL refuses for a reason other than being unavailable. */
const REFUSED_READ_TRIES = 3;

/** The record of an exchange: a meter_reads row and its effect on the meter. */
export function readRecord(
  exchange: MeterExchange,
  readingType: ReadingType,
  tickAt: Date | null,
): ReadToStore {
  return {
    meterId: exchange.meterId,
    readAt: new Date(exchange.readAt),
    readingType,
    tickAt,
    communicationStatus: exchange.communicationStatus,
    responseTimeMs: exchange.responseTime,
    error: exchange.error ?? null,
    values: encodeReadValues(exchange.readings),
    clockDriftMs: clockDrift(exchange),
  };
}

const CLOCK_CODE = '0-0:1.0.0.255';

/**
 * The meter's clock minus the time it was read: the exchange's start plus half its response time (the
 * meter answers about half-way through). Null when the read brought no usable clock.
 */
export function clockDrift(
  exchange: Pick<MeterExchange, 'readings' | 'readAt' | 'responseTime'>,
): number | null {
  for (const r of exchange.readings) {
    if (r.obisCode !== CLOCK_CODE) continue;
    const clock = typeof r.value === 'string' ? Date.parse(r.value) : NaN;
    if (Number.isNaN(clock)) return null;
    const drift = Math.round(clock - (Date.parse(exchange.readAt) + exchange.responseTime / 2));
    // int column: a clock decades off is clamped, still flagged.
    return Math.max(-2_000_000_000, Math.min(2_000_000_000, drift));
  }
  return null;
}

/** What became of a read handed to the store. */
export interface StoreResult extends StoredRead {
  /** Set when the read could not be stored (and never will be by this process): why. Counted and logged. */
  lost?: string;
}

export interface ReadStoreCounters {
  /** Reads committed (new records). */
  stored: number;
  /** Reads the database already had (a retried store, or a second read of one meter for one tick). */
  duplicates: number;
  /** Statements retried because PostgreSQL was unavailable or refused them. */
  retries: number;
  /** Reads that could not be stored: refused row by row, or still unstored when shutdown ended. */
  lost: number;
}

interface Pending {
  read: ReadToStore;
  resolve: (result: StoreResult) => void;
}

/**
 * Connection trouble and contention: retry the whole statement, as long as it takes. Any other refusal
 * (a constraint, a trigger, bad data) is narrowed down to the rows that cause it.
 */
export function isTransientStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true; // socket/timeout errors
  return (
    code.startsWith('08') || // connection exception
    code.startsWith('57P') || // admin/crash shutdown, cannot connect now
    code.startsWith('53') || // insufficient resources (too many connections, disk full)
    code === '40001' || // serialization failure
    code === '40P01' || // deadlock
    code === '55P03' || // lock not available
    code === '57014' // statement cancelled (statement_timeout)
  );
}

/**
 * Write-behind store for reads, shared by scheduled polls and on-demand commands. Reads handed in within
 * STORE_COLLECT_MS share one statement (≤ STORE_MAX_ROWS); a read's promise resolves once its row is
 * committed, so callers publish and release meter locks only after that. A statement that fails is tried
 * again with backoff until PostgreSQL answers: no read taken is ever dropped because a store failed.
 *
 * Memory is bounded: scheduled polls reserve their place BEFORE contacting a meter (`reserve()`), and at
 * STORE_BUFFER_MAX_READS reservations no more meters are contacted until the backlog drains; a read once
 * taken always has its place. What cannot be stored (PostgreSQL refusing one read's row every time, or
 * still down when shutdown's grace runs out) is counted and logged with the meter, never silent.
 */
@Injectable()
export class ReadStore {
  private readonly logger = new Logger(ReadStore.name);
  private readonly queue: Pending[] = [];
  private readonly maxReserved: number;
  private readonly rules: StatusRules;
  private reserved = 0;
  private flushing = false;
  /** Statements of single reads (store()) in progress. */
  private writingAlone = 0;
  private timer?: NodeJS.Timeout;
  private failingSince?: number;
  private retryUntil?: number;
  private closed = false;
  private backlogFullLogged = false;
  readonly counters: ReadStoreCounters = { stored: 0, duplicates: 0, retries: 0, lost: 0 };
  private readonly backOnlineListeners: ((meterIds: string[]) => void)[] = [];
  private readonly clockSyncListeners: ((meterIds: string[]) => void)[] = [];

  constructor(
    private readonly repository: PollingRepository,
    env: WorkerEnv,
    private readonly metrics: ReadMetrics,
  ) {
    metrics.watchBacklog(() => this.reserved);
    this.maxReserved = env.STORE_BUFFER_MAX_READS;
    this.rules = {
      offlineAfterFailures: env.METER_OFFLINE_AFTER_FAILURES,
      backoffMaxMs: env.METER_OFFLINE_BACKOFF_MAX_MS,
      intervalSettingKey: pollingIntervalSettingKey(env.QUEUE_PREFIX),
      fallbackIntervalMs: env.METER_POLLING_INTERVAL,
      clockSync: {
        auto: env.CLOCK_SYNC === 'auto',
        maxDriftMs: env.CLOCK_DRIFT_MAX_S * 1000,
        minIntervalMs: env.CLOCK_SYNC_MIN_INTERVAL,
      },
    };
  }

  /**
   * Calls `listener` with the meters each committed statement brought back online (offline → online), e.g.
   * to back-fill their load profile at once. Must not throw; runs after the reads' promises resolve.
   */
  onBackOnline(listener: (meterIds: string[]) => void): void {
    this.backOnlineListeners.push(listener);
  }

  /** Calls `listener` with the meters whose clock sync a committed statement claimed (CLOCK_SYNC=auto). */
  onClockSyncDue(listener: (meterIds: string[]) => void): void {
    this.clockSyncListeners.push(listener);
  }

  /** Reads taken or being taken that are not stored yet. */
  get backlog(): number {
    return this.reserved;
  }

  /**
   * A place for one read that is about to be taken, or null when the backlog is full (the meter must not
   * be contacted now). Exactly one of `store` or `cancel` must follow.
   */
  reserve(): { store: (read: ReadToStore) => Promise<StoreResult>; cancel: () => void } | null {
    if (this.closed) return null;
    if (this.reserved >= this.maxReserved) {
      if (!this.backlogFullLogged) {
        this.logger.warn(
          `store backlog full (${this.reserved} reads waiting for PostgreSQL): meters are not contacted until it drains`,
        );
      }
      this.backlogFullLogged = true;
      return null;
    }
    this.backlogFullLogged = false;
    this.reserved++;
    let settled = false;
    const settle = () => {
      if (!settled) this.reserved--;
      settled = true;
    };
    return {
      store: (read) => this.enqueue(read).finally(settle),
      cancel: settle,
    };
  }

  /**
   * Stores a read whose place was not reserved (on-demand commands, bounded by their own concurrency) in
   * a statement of its own, at once: an operator is waiting for it, so it neither waits for others to
   * share its statement nor queues behind the scheduled reads' statements. Retried like them.
   */
  store(read: ReadToStore): Promise<StoreResult> {
    this.reserved++;
    this.writingAlone++;
    return new Promise<StoreResult>((resolve) => void this.write([{ read, resolve }])).finally(() => {
      this.reserved--;
      this.writingAlone--;
    });
  }

  /**
   * Shutdown, first step: a store still failing at `deadline` gives up and counts its reads as lost, so
   * that the batches waiting on it finish (and are handed back) within the grace period. Reads already
   * taken by batches that are finishing are still stored as usual.
   */
  giveUpAt(deadline: number): void {
    this.retryUntil = deadline;
  }

  /**
   * Shutdown, last step (no batch runs any more): take no more reservations, keep trying until
   * `deadline`, then resolve what is left as lost (counted and logged). Resolves when nothing is pending.
   */
  async drain(deadline: number): Promise<void> {
    this.closed = true;
    this.retryUntil = deadline;
    this.kick();
    while (this.queue.length > 0 || this.flushing || this.writingAlone > 0) {
      if (Date.now() >= deadline && !this.flushing && this.writingAlone === 0) break;
      await sleep(50);
    }
    if (this.queue.length > 0) {
      this.loseAll(this.queue.splice(0), 'shutdown grace ran out while PostgreSQL was unavailable');
    }
  }

  private enqueue(read: ReadToStore): Promise<StoreResult> {
    return new Promise<StoreResult>((resolve) => {
      this.queue.push({ read, resolve });
      if (this.queue.length >= STORE_MAX_ROWS) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), STORE_COLLECT_MS);
    });
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    void this.flushAll().finally(() => {
      this.flushing = false;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushAll(): Promise<void> {
    while (this.queue.length > 0) {
      await this.write(this.queue.splice(0, STORE_MAX_ROWS));
    }
  }

  /** Stores `batch` whatever it takes; never throws. */
  private async write(batch: Pending[], refusedTries = 0): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        const results = await this.repository.storeReads(
          batch.map((p) => p.read),
          this.rules,
        );
        this.metrics.stored(batch.length, performance.now() - started);
        this.recovered();
        batch.forEach((p, i) => {
          const result = results[i] ?? { stored: false };
          if (result.stored) this.counters.stored++;
          else this.counters.duplicates++;
          p.resolve(result);
        });
        if (this.backOnlineListeners.length > 0) this.announceBackOnline(batch, results);
        if (this.clockSyncListeners.length > 0) this.announceClockSync(batch, results);
        return;
      } catch (err) {
        this.counters.retries++;
        this.metrics.storeRetried();
        if (this.retryUntil !== undefined && Date.now() >= this.retryUntil) {
          this.loseAll(batch, `shutdown grace ran out: ${(err as Error).message}`);
          return;
        }
        if (!isTransientStoreError(err)) {
          this.logger.warn(
            `PostgreSQL refused a store of ${batch.length} read(s) (${(err as Error).message}); retrying` +
              (batch.length > 1 ? ' in halves to isolate the refused rows' : ''),
          );
          if (batch.length > 1) {
            // Narrow the refusal down to the rows that cause it; the others are stored.
            const half = Math.ceil(batch.length / 2);
            await this.write(batch.slice(0, half));
            await this.write(batch.slice(half));
            return;
          }
          if (++refusedTries >= REFUSED_READ_TRIES) {
            this.loseAll(batch, `PostgreSQL refused it ${refusedTries} times: ${(err as Error).message}`);
            return;
          }
        }
        this.failing(err as Error, batch.length);
        const backoff = Math.min(STORE_RETRY_FIRST_MS * 2 ** attempt, STORE_RETRY_MAX_MS);
        await sleep(
          this.retryUntil === undefined
            ? backoff
            : Math.max(0, Math.min(backoff, this.retryUntil - Date.now())),
        );
      }
    }
  }

  private announceBackOnline(batch: Pending[], results: StoredRead[]): void {
    const ids: string[] = [];
    results.forEach((r, i) => {
      if (r.meter?.previousStatus === 'offline' && r.meter.status === 'online')
        ids.push(batch[i].read.meterId);
    });
    if (ids.length > 0) for (const listener of this.backOnlineListeners) listener(ids);
  }

  private announceClockSync(batch: Pending[], results: StoredRead[]): void {
    const ids = results.flatMap((r, i) => (r.clockSyncDue ? [batch[i].read.meterId] : []));
    if (ids.length > 0) for (const listener of this.clockSyncListeners) listener(ids);
  }

  private failing(err: Error, reads: number): void {
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    this.logger.warn(`storing reads failed (${err.message}); retrying with backoff, ${reads} reads waiting`);
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    this.logger.log(
      `storing reads works again after ${Date.now() - this.failingSince} ms (${this.counters.retries} retries so far)`,
    );
    this.failingSince = undefined;
  }

  private loseAll(batch: Pending[], why: string): void {
    this.counters.lost += batch.length;
    this.metrics.lost(batch.length);
    const meters = batch
      .slice(0, 10)
      .map((p) => `${p.read.meterId}@${p.read.readAt.toISOString()}`)
      .join(', ');
    this.logger.error(
      `${batch.length} read(s) NOT stored: ${why} [${meters}${batch.length > 10 ? ', …' : ''}] ` +
        `(lost so far: ${this.counters.lost})`,
    );
    for (const p of batch) p.resolve({ stored: false, lost: why });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
