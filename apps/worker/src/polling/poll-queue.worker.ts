import { jobLogger, WorkerEnv } from '@app/config';
import {
  batchJobId,
  bullRootOptions,
  chunk,
  JOB_RETENTION,
  POLL_BATCH_SIZE,
  POLL_JOBS,
  PollBatchPayload,
  PollTickPayload,
  QUEUES,
  slotBucketRange,
  tickTimeFromJobId,
} from '@app/contracts';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { PartitionMaintenanceService } from './partition-maintenance.service';
import { PollingRepository } from './polling.repository';
import { ReadStore } from './read-store';
import { BatchResult, ScheduledPollService } from './scheduled-poll.service';
import { WorkerHeartbeatService } from './worker-heartbeat.service';

/**
 * BATCH jobs mostly wait on meters (a batch lasts as long as its slowest meter, up to one deadline), so
 * enough of them run at once to keep the exchanges busy while silent meters wait out their deadline:
 * with meters in batches of 100, one batch for every 50 exchanges the worker may have in flight.
 */
export function pollWorkerConcurrency(maxExchanges: number): number {
  return Math.min(500, Math.max(4, Math.ceil(maxExchanges / 50)));
}

/**
 * Share of the interval after its tick within which a tick or batch still starts. Later, the slot's next
 * tick is near and covers its meters; running it would read them twice within a short time, and after a
 * start-up or an outage a whole interval of ticks would fall due at once.
 */
export const STALE_AFTER_SHARE = 0.5;
/**
 * The same for a batch run again after it had started (taken over from a dead worker, ≤ 1.5 ×
 * POLL_JOB_LOCK_MS after it died, or retried after an error): its meters were not read for this tick, so
 * it still runs until late in the interval.
 */
export const RESUMED_STALE_AFTER_SHARE = 0.9;

export function isStale(tickAt: number, intervalMs: number, nowMs: number, resumed = false): boolean {
  return nowMs > tickAt + intervalMs * (resumed ? RESUMED_STALE_AFTER_SHARE : STALE_AFTER_SHARE);
}

/** A batch whose claim could not be made (PostgreSQL unavailable) is tried again, quickly. */
const BATCH_ATTEMPTS = { attempts: 6, backoff: { type: 'exponential', delay: 250 } } as const;

export interface TickResult {
  meters: number;
  batches: number;
  stale?: boolean;
}

export interface BatchJobResult extends BatchResult {
  claimed: number;
  stale?: boolean;
}

/**
 * The worker's processor for QUEUES.POLL:
 * - TICK (one per slot per interval, from the api's job schedulers): selects the slot's due meters and
 *   fans them out as BATCH jobs (`addBulk`, POLL_BATCH_SIZE each, jobId from slot + tick + chunk so a
 *   repeated tick adds nothing);
 * - BATCH: claims its meters for the tick in PostgreSQL, reads and stores them (ScheduledPollService). A
 *   batch run again (retried, or taken over by BullMQ's stalled-job check after its worker died) claims
 *   again the meters that have no stored record for the tick; the database refuses a second record.
 * - MAINTENANCE: daily partitions and retention (also run once at start-up).
 * On SIGTERM no new job is taken, in-flight batches finish and their reads are stored (or, when
 * PostgreSQL stays away past the grace period, counted as lost and the batch handed back to the queue).
 */
@Injectable()
export class PollQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PollQueueWorker.name);
  private readonly root: ReturnType<typeof bullRootOptions>;
  private readonly queue: Queue;
  private worker?: Worker;

  constructor(
    private readonly env: WorkerEnv,
    private readonly repository: PollingRepository,
    private readonly polls: ScheduledPollService,
    private readonly store: ReadStore,
    private readonly maintenance: PartitionMaintenanceService,
    private readonly heartbeat: WorkerHeartbeatService,
  ) {
    this.root = bullRootOptions(env.REDIS_URL, env.QUEUE_PREFIX);
    this.queue = new Queue(QUEUES.POLL, this.root);
    this.queue.on('error', (err) => this.logger.warn(`poll queue: ${err.message}`));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.maintenance
      .run()
      .catch((err: Error) => this.logger.error(`partition maintenance: ${err.message}`));
    await this.heartbeat.start();
    this.worker = new Worker(QUEUES.POLL, (job) => this.process(job), {
      ...this.root,
      concurrency: pollWorkerConcurrency(this.polls.maxExchanges),
      lockDuration: this.env.POLL_JOB_LOCK_MS,
      stalledInterval: Math.ceil(this.env.POLL_JOB_LOCK_MS / 2),
      maxStalledCount: 2,
    });
    this.worker.on('error', (err) => this.logger.warn(`poll worker: ${err.message}`));
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`poll job ${job?.name} ${job?.id} failed: ${err.message}`),
    );
  }

  /** Whether the processor takes poll jobs (readiness). */
  get running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.env.SHUTDOWN_GRACE_MS - 2000;
    // Batches waiting on their store give up at the deadline instead of holding the shutdown; until the
    // BullMQ worker is closed, a batch it had already fetched still reads all its meters.
    this.store.giveUpAt(deadline);
    await this.worker?.close();
    await this.store.drain(deadline);
    await this.heartbeat.stop();
    await this.queue.close();
  }

  private async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case POLL_JOBS.TICK:
        return this.tick(job as Job<PollTickPayload>);
      case POLL_JOBS.BATCH:
        return this.batch(job as Job<PollBatchPayload>);
      case POLL_JOBS.MAINTENANCE:
        return this.maintenance.run();
      default:
        throw new Error(`unknown poll job ${job.name}`);
    }
  }

  private async tick(job: Job<PollTickPayload>): Promise<TickResult> {
    const { slot, slotCount, intervalMs } = job.data;
    const tickAt = tickTimeFromJobId(job.id) ?? job.timestamp + (job.opts.delay ?? 0);
    if (isStale(tickAt, intervalMs, Date.now())) return { meters: 0, batches: 0, stale: true };
    const { from, to } = slotBucketRange(slot, slotCount);
    const ids = await this.repository.findDueMeterIds(from, to, new Date(tickAt), intervalMs);
    const batches = chunk(ids, POLL_BATCH_SIZE);
    if (batches.length > 0) {
      await this.queue.addBulk(
        batches.map((meterIds, i) => ({
          name: POLL_JOBS.BATCH,
          data: { slot, tickAt, intervalMs, meterIds } satisfies PollBatchPayload,
          opts: { jobId: batchJobId(slot, tickAt, i), ...JOB_RETENTION, ...BATCH_ATTEMPTS },
        })),
      );
    }
    return { meters: ids.length, batches: batches.length };
  }

  private async batch(job: Job<PollBatchPayload>): Promise<BatchJobResult> {
    const { tickAt, intervalMs, meterIds } = job.data;
    const none = { succeeded: 0, failed: 0, duplicates: 0, lost: 0 };
    const resumed = job.attemptsStarted > 1 || job.stalledCounter > 0;
    if (isStale(tickAt, intervalMs, Date.now(), resumed)) {
      return { claimed: 0, ...none, skipped: meterIds.length, stale: true };
    }
    const meters = await this.repository.claimForTick(
      meterIds,
      new Date(tickAt),
      intervalMs,
      this.env.PUSH_SUPPRESSES_POLL,
    );
    const result = await this.polls.pollBatch(meters, { tickAt, intervalMs });
    jobLogger(job, PollQueueWorker.name).debug(
      `batch of tick ${new Date(tickAt).toISOString()}: ${meters.length} claimed, ${result.succeeded} ok, ` +
        `${result.failed} failed, ${result.skipped} skipped`,
    );
    if (result.lost > 0) {
      // Hand the batch back: another worker re-reads the meters that have no record for the tick.
      throw new Error(`${result.lost} read(s) of this batch could not be stored`);
    }
    return { claimed: meters.length, ...result };
  }
}
