import { ApiEnv } from '@app/config';
import { JOB_RETENTION, pollingKeys, QUEUES } from '@app/contracts';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Mutex } from 'redis-semaphore';
import { desiredSchedulers, ExistingScheduler, planReconciliation } from './poll-schedule.plan';
import { PollingIntervalService } from './polling-interval.service';
import { API_POLLING_REDIS } from './polling-redis.provider';

/**
 * How often each api instance checks the schedules cheaply (the interval in force and the number of
 * schedulers). 5 s keeps "schedules back within max(2 intervals, 10 s) after Redis lost its data" for the
 * shortest interval (1 s): 5 s to notice + one interval to the next tick + the read.
 */
export const SCHEDULE_CHECK_EVERY_MS = 5_000;
/** A full diff (drifted offsets or data, foreign changes) at least this often, even when the counts agree. */
export const FULL_RECONCILE_EVERY_MS = 30_000;
/** An interval change rewrites the schedules at once: this many tries, this far apart, if the lock is busy. */
const CHANGE_APPLY_ATTEMPTS = 5;
const CHANGE_APPLY_PAUSE_MS = 200;
/** The reconciliation lock expires after this if its holder dies; redis-semaphore refreshes it while held. */
const LOCK_TTL_MS = 20_000;

export interface ReconcileResult {
  /** False when another instance held the reconciliation lock (it is doing the same work). */
  ran: boolean;
  added: string[];
  removed: string[];
}

/**
 * Keeps the poll queue's job schedulers equal to what the fleet-wide interval asks for: S slot schedulers
 * `poll-slot:<s>` (every interval, offset spreading the slots over it) and an hourly maintenance scheduler.
 * The interval is read from PostgreSQL at each run, so api instances never fight over it whatever their
 * environment. Runs at start-up, after each Redis reconnection, and whenever the cheap check every 5 s
 * finds the interval changed or schedulers missing (a Redis flush), always under a Redis lock so several
 * api instances never upsert concurrently. Meter changes need no reconciliation: each tick reads the
 * slot's meters from PostgreSQL.
 */
@Injectable()
export class PollScheduleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PollScheduleService.name);
  private readonly lockKey: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileResult>;
  /** Interval of the last successful reconciliation, and when it ran (0: never). */
  private appliedIntervalMs?: number;
  private lastFullAt = 0;
  /** Set while checks fail, so that an outage is logged once when it starts and once when it ends. */
  private failing?: string;
  private checking = false;

  constructor(
    @InjectQueue(QUEUES.POLL) private readonly queue: Queue,
    @Inject(API_POLLING_REDIS) private readonly redis: Redis,
    private readonly interval: PollingIntervalService,
    env: ApiEnv,
  ) {
    this.lockKey = pollingKeys(env.QUEUE_PREFIX).reconcileLock;
  }

  onApplicationBootstrap(): void {
    // Not awaited: the api starts, and says what is missing, even while PostgreSQL or Redis is away.
    const start = async () => {
      await this.interval.seedFromEnv().catch((err: Error) => this.noteFailure(err));
      await this.check();
    };
    void start();
    this.timer = setInterval(() => void this.check(), SCHEDULE_CHECK_EVERY_MS);
    this.timer.unref();
    // A restarted Redis may have come back empty: restore at once rather than at the next check.
    this.queue.client.then(
      (client) =>
        client.on('ready', () => {
          this.reconcile().catch((err: Error) => this.noteFailure(err));
        }),
      (err: Error) => this.noteFailure(err),
    );
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * The periodic check: a full reconciliation only when the stored interval changed, schedulers are
   * missing or extra, or the last full run is old. Never throws (failures are logged once per outage).
   */
  async check(): Promise<void> {
    // One check at a time: while a dependency hangs, checks must not pile up behind it.
    if (this.checking) return;
    this.checking = true;
    try {
      const [intervalMs, count] = await Promise.all([
        this.interval.current(),
        this.queue.getJobSchedulersCount(),
      ]);
      const due =
        intervalMs !== this.appliedIntervalMs ||
        count !== desiredSchedulers(intervalMs).length ||
        Date.now() - this.lastFullAt >= FULL_RECONCILE_EVERY_MS;
      if (due) await this.reconcile();
      if (this.failing) {
        this.logger.log(`poll schedule checks work again (after: ${this.failing})`);
        this.failing = undefined;
      }
    } catch (err) {
      this.noteFailure(err as Error);
    } finally {
      this.checking = false;
    }
  }

  /** Brings the schedules in line with the stored interval now (also run after an interval change). */
  reconcile(): Promise<ReconcileResult> {
    this.running ??= this.reconcileLocked().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Stores a new fleet-wide interval and rewrites the schedules at once. When another instance holds the
   * lock at that moment, it or the next check (within SCHEDULE_CHECK_EVERY_MS) applies the change.
   */
  async changeInterval(
    intervalMs: number,
    by: string,
  ): Promise<{ intervalMs: number; previousIntervalMs: number | null; schedulesUpdated: boolean }> {
    const change = await this.interval.change(intervalMs);
    this.logger.log(
      `fleet-wide polling interval set to ${intervalMs} ms by ${by} (was ${change.previousIntervalMs ?? 'unset'})`,
    );
    // A run in flight may have read the old value, and another instance may hold the lock for a moment
    // (reconciling toward the same stored value): try a few times before leaving it to the next check.
    for (let attempt = 0; attempt < CHANGE_APPLY_ATTEMPTS; attempt++) {
      const result = await this.reconcile();
      if (result.ran && this.appliedIntervalMs === intervalMs) return { ...change, schedulesUpdated: true };
      await new Promise((resolve) => setTimeout(resolve, CHANGE_APPLY_PAUSE_MS));
    }
    return { ...change, schedulesUpdated: false };
  }

  private async reconcileLocked(): Promise<ReconcileResult> {
    const lock = new Mutex(this.redis, this.lockKey, {
      lockTimeout: LOCK_TTL_MS,
      acquireAttemptsLimit: 1,
      // Losing the lock mid-run (Redis gone) is harmless: every instance writes the same stored interval.
      onLockLost: (err) => this.logger.warn(`poll schedule lock lost: ${err.message}`),
    });
    if (!(await lock.tryAcquire())) return { ran: false, added: [], removed: [] };
    try {
      // Read under the lock, so that runs of several instances apply interval changes in order.
      const intervalMs = await this.interval.current();
      const existing = (await this.queue.getJobSchedulers(0, -1, true)).map((s): ExistingScheduler => ({
        id: s.id ?? s.key,
        name: s.name,
        every: s.every ?? null,
        offset: s.offset ?? null,
        data: s.template?.data,
      }));
      const { add, remove } = planReconciliation(desiredSchedulers(intervalMs), existing);
      for (const id of remove) await this.queue.removeJobScheduler(id);
      for (const s of add) {
        await this.queue.upsertJobScheduler(
          s.id,
          { every: s.every, offset: s.offset },
          { name: s.name, data: s.data, opts: { ...JOB_RETENTION } },
        );
      }
      if (add.length || remove.length) {
        this.logger.log(
          `poll schedules reconciled (interval ${intervalMs} ms): ${add.length} upserted, ${remove.length} removed`,
        );
      }
      this.appliedIntervalMs = intervalMs;
      this.lastFullAt = Date.now();
      return { ran: true, added: add.map((s) => s.id), removed: remove };
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  private noteFailure(err: Error): void {
    if (this.failing) return;
    this.failing = err.message;
    this.logger.warn(
      `poll schedule check failed, retrying every ${SCHEDULE_CHECK_EVERY_MS} ms: ${err.message}`,
    );
  }
}
