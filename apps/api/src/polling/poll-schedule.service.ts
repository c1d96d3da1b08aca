import { JOB_RETENTION, pollingKeys, QUEUES } from '@app/contracts';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { desiredSchedulers, ExistingScheduler, planReconciliation } from './poll-schedule.plan';
import { API_POLLING_REDIS } from './polling-redis.provider';

/** How often each api instance checks the schedules (cheap when nothing is missing). */
export const RECONCILE_EVERY_MS = 30_000;
const LOCK_TTL_MS = 20_000;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface ReconcileResult {
  /** False when another instance held the reconciliation lock (it is doing the same work). */
  ran: boolean;
  added: string[];
  removed: string[];
}

/**
 * Keeps the poll queue's job schedulers equal to what the configuration asks for: S slot schedulers
 * `poll-slot:<s>` (every METER_POLLING_INTERVAL, offset spreading the slots over the interval) and an
 * hourly maintenance scheduler. Runs at start-up and every 30 s, under a Redis lock so several api
 * instances never upsert concurrently; after a Redis flush the next run restores everything. Meter
 * changes need no reconciliation: each tick reads the slot's meters from PostgreSQL.
 */
@Injectable()
export class PollScheduleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PollScheduleService.name);
  private readonly intervalMs: number;
  private readonly lockKey: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileResult>;

  constructor(
    @InjectQueue(QUEUES.POLL) private readonly queue: Queue,
    @Inject(API_POLLING_REDIS) private readonly redis: Redis,
    config: ConfigService,
  ) {
    this.intervalMs = Number(config.get('METER_POLLING_INTERVAL') ?? 60000);
    this.lockKey = pollingKeys(config.get<string>('QUEUE_PREFIX') ?? 'hes').reconcileLock;
  }

  get pollingIntervalMs(): number {
    return this.intervalMs;
  }

  /** Number of schedulers a complete schedule has (slots + maintenance). */
  get expectedSchedulerCount(): number {
    return desiredSchedulers(this.intervalMs).length;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconcile().catch((err: Error) =>
      this.logger.error(`poll schedule reconciliation: ${err.message}`),
    );
    this.timer = setInterval(() => {
      this.reconcile().catch((err: Error) =>
        this.logger.warn(`poll schedule reconciliation: ${err.message}`),
      );
    }, RECONCILE_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Brings the schedules in line now (also callable after a configuration change). */
  reconcile(): Promise<ReconcileResult> {
    this.running ??= this.reconcileLocked().finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcileLocked(): Promise<ReconcileResult> {
    const token = randomBytes(8).toString('hex');
    if ((await this.redis.set(this.lockKey, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      return { ran: false, added: [], removed: [] };
    }
    try {
      const existing = (await this.queue.getJobSchedulers(0, -1, true)).map((s): ExistingScheduler => ({
        id: s.id ?? s.key,
        name: s.name,
        every: s.every ?? null,
        offset: s.offset ?? null,
        data: s.template?.data,
      }));
      const { add, remove } = planReconciliation(desiredSchedulers(this.intervalMs), existing);
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
          `poll schedules reconciled (interval ${this.intervalMs} ms): ${add.length} upserted, ${remove.length} removed`,
        );
      }
      return { ran: true, added: add.map((s) => s.id), removed: remove };
    } finally {
      await this.redis.eval(RELEASE_SCRIPT, 1, this.lockKey, token).catch(() => undefined);
    }
  }
}
