import { WorkerEnv } from '@app/config';
import {
  bullRootOptions,
  JOB_RETENTION,
  MAINTENANCE_EVERY_MS,
  PROFILE_COLLECT_BATCH,
  PROFILE_JOBS,
  PROFILE_SCHEDULERS,
  ProfileCollectPayload,
  QUEUES,
  tickTimeFromJobId,
} from '@app/contracts';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { CollectResult, ProfileCollectorService } from './profile-collector.service';
import { ProfileMaintenanceService } from './profile-maintenance.service';
import { ProfileRepository } from './profile.repository';

/** COLLECT jobs of this worker running at once (each reads PROFILE_METERS_IN_FLIGHT meters at a time). */
export const PROFILE_WORKER_CONCURRENCY = 4;
/** How often the worker makes sure the schedulers exist (Redis may have lost them). */
export const PROFILE_SCHEDULE_CHECK_MS = 30_000;
/** Meters selected per query when a tick fans out the fleet. */
const TICK_PAGE = 5_000;
/** A meter busy (locked by a poll or a command) when its collection came is tried again this much later... */
const BUSY_RETRY_DELAY_MS = 1_000;
/** ...at most this many times. */
const BUSY_RETRIES = 5;

/**
 * A collection that failed (PostgreSQL away, say) is run again: it is idempotent (entries are unique per
 * meter, profile and instant) and starts from what was stored.
 */
export const COLLECT_JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
  ...JOB_RETENTION,
} as const;

interface CollectJobData extends ProfileCollectPayload {
  /** Retries of a back-fill whose meters were busy. */
  attempt?: number;
}

/**
 * The worker's processor for QUEUES.PROFILE:
 * - TICK (job scheduler `profile-collection`, every PROFILE_READ_INTERVAL): fans the online fleet out as
 *   COLLECT jobs of PROFILE_COLLECT_BATCH meters, job ids from the tick, so a repeated tick adds nothing;
 *   a tick more than half an interval late is dropped (the next one covers it);
 * - COLLECT: reads the meters' profiles from their last stored entry (ProfileCollectorService); meters
 *   further behind than one collection get a follow-up job at once, busy ones a retry 1 s later (≤ 5 times);
 * - MAINTENANCE (hourly): the partitions of load_profile_entries.
 * Every worker upserts the two schedulers at start and every 30 s (idempotent, so after Redis lost its
 * data the schedule is back within 30 s). Meters coming back online are added by ProfileBackfillTrigger.
 */
@Injectable()
export class ProfileQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ProfileQueueWorker.name);
  private readonly root: ReturnType<typeof bullRootOptions>;
  readonly queue: Queue;
  private worker?: Worker;
  private scheduleTimer?: NodeJS.Timeout;
  private readonly intervalMs: number;
  private readonly lockMs: number;

  constructor(
    env: WorkerEnv,
    private readonly collector: ProfileCollectorService,
    private readonly repository: ProfileRepository,
    private readonly maintenance: ProfileMaintenanceService,
  ) {
    this.intervalMs = env.PROFILE_READ_INTERVAL;
    this.lockMs = env.POLL_JOB_LOCK_MS;
    this.root = bullRootOptions(env.REDIS_URL, env.QUEUE_PREFIX);
    this.queue = new Queue(QUEUES.PROFILE, this.root);
    this.queue.on('error', (err) => this.logger.warn(`profile queue: ${err.message}`));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.maintenance
      .run()
      .catch((err: Error) => this.logger.error(`profile partition maintenance: ${err.message}`));
    await this.ensureSchedulers().catch((err: Error) =>
      this.logger.warn(`profile schedulers: ${err.message}`),
    );
    this.scheduleTimer = setInterval(() => {
      this.ensureSchedulers().catch(() => undefined);
    }, PROFILE_SCHEDULE_CHECK_MS);
    this.worker = new Worker(QUEUES.PROFILE, (job) => this.process(job), {
      ...this.root,
      concurrency: PROFILE_WORKER_CONCURRENCY,
      // Like a poll job's (and the meter locks'): a worker that dies mid-collection loses its job after
      // POLL_JOB_LOCK_MS and another worker runs it again (idempotent), instead of after BullMQ's 30 s.
      lockDuration: this.lockMs,
      stalledInterval: Math.ceil(this.lockMs / 2),
      maxStalledCount: 2,
    });
    this.worker.on('error', (err) => this.logger.warn(`profile worker: ${err.message}`));
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`profile job ${job?.name} ${job?.id} failed: ${err.message}`),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.scheduleTimer);
    await this.worker?.close();
    await this.queue.close();
  }

  /** Adds a collection of `meterIds` now (back-fill of meters back online), one job per meter and minute. */
  async backfill(meterIds: readonly string[]): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    await this.queue.addBulk(
      meterIds.map((id) => ({
        name: PROFILE_JOBS.COLLECT,
        data: { meterIds: [id], reason: 'back-online' } satisfies CollectJobData,
        opts: { jobId: `backfill-${id}-${minute}`, ...COLLECT_JOB_OPTIONS },
      })),
    );
  }

  private async ensureSchedulers(): Promise<void> {
    await this.queue.upsertJobScheduler(
      PROFILE_SCHEDULERS.TICK,
      // Half-way through each interval (an hour: at :30), never at start-up, like the poll slots' offsets.
      { every: this.intervalMs, offset: Math.floor(this.intervalMs / 2) },
      { name: PROFILE_JOBS.TICK, data: { intervalMs: this.intervalMs }, opts: JOB_RETENTION },
    );
    await this.queue.upsertJobScheduler(
      PROFILE_SCHEDULERS.MAINTENANCE,
      { every: MAINTENANCE_EVERY_MS },
      { name: PROFILE_JOBS.MAINTENANCE, opts: JOB_RETENTION },
    );
  }

  private async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case PROFILE_JOBS.TICK:
        return this.tick(job as Job<{ intervalMs: number }>);
      case PROFILE_JOBS.COLLECT:
        return this.collect(job as Job<CollectJobData>);
      case PROFILE_JOBS.MAINTENANCE:
        return this.maintenance.run();
      default:
        throw new Error(`unknown profile job ${job.name}`);
    }
  }

  private async tick(
    job: Job<{ intervalMs: number }>,
  ): Promise<{ meters: number; jobs: number; stale?: true }> {
    const tickAt = tickTimeFromJobId(job.id) ?? job.timestamp;
    if (Date.now() > tickAt + job.data.intervalMs / 2) return { meters: 0, jobs: 0, stale: true };
    let meters = 0;
    let jobs = 0;
    let after: string | null = null;
    for (;;) {
      const ids = await this.repository.findOnlineMeterIds(after, TICK_PAGE);
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += PROFILE_COLLECT_BATCH)
        chunks.push(ids.slice(i, i + PROFILE_COLLECT_BATCH));
      await this.queue.addBulk(
        chunks.map((meterIds, i) => ({
          name: PROFILE_JOBS.COLLECT,
          data: { meterIds, reason: 'scheduled' } satisfies CollectJobData,
          opts: { jobId: `collect-${tickAt}-${jobs + i}`, ...COLLECT_JOB_OPTIONS },
        })),
      );
      meters += ids.length;
      jobs += chunks.length;
      if (ids.length < TICK_PAGE) break;
    }
    return { meters, jobs };
  }

  private async collect(job: Job<CollectJobData>): Promise<CollectResult> {
    const result = await this.collector.collect(job.data.meterIds);
    const follow: { name: string; data: CollectJobData; opts: object }[] = [];
    if (result.behind.length > 0) {
      follow.push({
        name: PROFILE_JOBS.COLLECT,
        data: { meterIds: result.behind, reason: 'continue' },
        opts: { jobId: `continue-${job.id}-${Date.now()}`, ...COLLECT_JOB_OPTIONS },
      });
    }
    const attempt = job.data.attempt ?? 0;
    if (result.busy.length > 0 && attempt < BUSY_RETRIES) {
      follow.push({
        name: PROFILE_JOBS.COLLECT,
        data: { meterIds: result.busy, reason: job.data.reason, attempt: attempt + 1 },
        opts: { jobId: `busy-${job.id}-${attempt + 1}`, delay: BUSY_RETRY_DELAY_MS, ...COLLECT_JOB_OPTIONS },
      });
    }
    if (follow.length > 0) await this.queue.addBulk(follow);
    return result;
  }
}
