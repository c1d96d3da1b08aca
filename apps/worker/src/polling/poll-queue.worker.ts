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
import { ConfigService } from '@nestjs/config';
import { Job, Queue, Worker } from 'bullmq';
import { MeterPollService } from './meter-poll.service';
import { PartitionMaintenanceService } from './partition-maintenance.service';
import { PollingRepository } from './polling.repository';
import { WorkerHeartbeatService } from './worker-heartbeat.service';

/**
 * BATCH jobs mostly wait on meters, and the real cap is the worker-wide limit on reads in flight, so
 * enough batches run at once to keep that limit busy even while some of them wait on dead meters.
 */
export function pollWorkerConcurrency(maxConcurrentPolls: number): number {
  return Math.min(100, Math.max(4, Math.ceil(maxConcurrentPolls / 10)));
}

/**
 * A tick or batch that starts more than half an interval late is dropped: the slot's next tick covers its
 * meters, and running it would read them twice within a short time (and let a backlog grow unbounded).
 */
export function isStale(tickAt: number, intervalMs: number, nowMs: number): boolean {
  return nowMs > tickAt + intervalMs / 2;
}

export interface TickResult {
  meters: number;
  batches: number;
  stale?: boolean;
}

export interface BatchResult {
  claimed: number;
  succeeded: number;
  failed: number;
  skipped: number;
  stale?: boolean;
}

/**
 * The worker's processor for QUEUES.POLL:
 * - TICK (one per slot per interval, from the api's job schedulers): selects the slot's due meters and
 *   fans them out as BATCH jobs (`addBulk`, POLL_BATCH_SIZE each, jobId batch-<slot>-<tickAt>-<n> so a
 *   repeated tick adds nothing);
 * - BATCH: claims its meters for the tick in PostgreSQL (so no meter is polled twice in an interval,
 *   whichever worker runs what), reads and stores them through MeterPollService;
 * - MAINTENANCE: daily partitions and retention (also run once at start-up).
 * On shutdown, in-flight batches finish before the database pool closes.
 */
@Injectable()
export class PollQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PollQueueWorker.name);
  private readonly root: ReturnType<typeof bullRootOptions>;
  private readonly queue: Queue;
  private worker?: Worker;

  constructor(
    private readonly config: ConfigService,
    private readonly repository: PollingRepository,
    private readonly polls: MeterPollService,
    private readonly maintenance: PartitionMaintenanceService,
    private readonly heartbeat: WorkerHeartbeatService,
  ) {
    this.root = bullRootOptions(
      config.getOrThrow<string>('REDIS_URL'),
      config.get<string>('QUEUE_PREFIX') ?? 'hes',
    );
    this.queue = new Queue(QUEUES.POLL, this.root);
    this.queue.on('error', (err) => this.logger.warn(`poll queue: ${err.message}`));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.maintenance
      .run()
      .catch((err: Error) => this.logger.error(`partition maintenance: ${err.message}`));
    await this.heartbeat.start();
    const timeoutMs = Number(this.config.get('METER_TIMEOUT_MS') ?? 10000);
    this.worker = new Worker(QUEUES.POLL, (job) => this.process(job), {
      ...this.root,
      concurrency: pollWorkerConcurrency(this.polls.maxConcurrentPolls),
      // A batch lasts about one meter deadline; the lock must outlive it with a wide margin.
      lockDuration: Math.max(30_000, 2 * timeoutMs + 10_000),
      maxStalledCount: 1,
    });
    this.worker.on('error', (err) => this.logger.warn(`poll worker: ${err.message}`));
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`poll job ${job?.name} ${job?.id} failed: ${err.message}`),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
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
          opts: { jobId: batchJobId(slot, tickAt, i), ...JOB_RETENTION },
        })),
      );
    }
    return { meters: ids.length, batches: batches.length };
  }

  private async batch(job: Job<PollBatchPayload>): Promise<BatchResult> {
    const { tickAt, intervalMs, meterIds } = job.data;
    if (isStale(tickAt, intervalMs, Date.now())) {
      return { claimed: 0, succeeded: 0, failed: 0, skipped: meterIds.length, stale: true };
    }
    const meters = await this.repository.claimForTick(meterIds, new Date(tickAt), intervalMs);
    const outcomes = await this.polls.pollMeters(meters, 'scheduled');
    const result: BatchResult = { claimed: meters.length, succeeded: 0, failed: 0, skipped: 0 };
    for (const o of outcomes) {
      if (o.skipped) result.skipped++;
      else if (o.communicationStatus === 'failed') result.failed++;
      else result.succeeded++;
    }
    return result;
  }
}
