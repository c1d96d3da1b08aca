import { WorkerEnv } from '@app/config';
import { bullRootOptions, PUSH_JOBS, PushedRead, PushReadsPayload, QUEUES } from '@app/contracts';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type { MeterExchange } from '../polling/meter-reader';
import { ReadEvents } from '../polling/read-events';
import { readRecord, ReadStore, StoreResult } from '../polling/read-store';

/** PUSH jobs stored at once: each is up to an api's collection window (≤ PUSH_JOB_MAX_READS reads). */
export const PUSH_WORKER_CONCURRENCY = 4;
/**
 * A job's lock: a worker that dies (SIGKILL, lost host) leaves its jobs locked this long, then another
 * worker takes them over at its next stalled check (same period): a push job is short, so a dead worker's
 * reads are stored within ~10 s rather than BullMQ's default ~60 s. A job taken twice stores nothing twice.
 */
export const PUSH_JOB_LOCK_MS = 5000;
/** A job whose worker died this many times is retried still (each time its reads may be stored). */
const PUSH_JOB_MAX_STALLED = 5;

export interface PushJobResult {
  stored: number;
  duplicates: number;
}

function exchangeOf(read: PushedRead): MeterExchange {
  return {
    meterId: read.meterId,
    meterNumber: read.meterNumber,
    communicationStatus: read.communicationStatus,
    readings: read.readings,
    // The meter spoke first: no exchange, no response time.
    responseTime: 0,
    readAt: read.readAt,
    ...(read.error ? { error: read.error } : {}),
  };
}

/**
 * The worker's processor for QUEUES.PUSH: reads verified by the api are stored like polled ones, through
 * the same write-behind ReadStore (shared statements with the polls), then published. A job is safe to
 * run twice: a read is unique per meter and instant, so a retry stores and publishes nothing twice. When
 * the store's backlog is full, or a read could not be stored, the job fails and BullMQ retries it later.
 */
@Injectable()
export class PushQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PushQueueWorker.name);
  private worker?: Worker;

  constructor(
    private readonly env: WorkerEnv,
    private readonly store: ReadStore,
    private readonly events: ReadEvents,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker(QUEUES.PUSH, (job: Job<PushReadsPayload>) => this.process(job), {
      ...bullRootOptions(this.env.REDIS_URL, this.env.QUEUE_PREFIX),
      concurrency: PUSH_WORKER_CONCURRENCY,
      lockDuration: PUSH_JOB_LOCK_MS,
      stalledInterval: PUSH_JOB_LOCK_MS,
      maxStalledCount: PUSH_JOB_MAX_STALLED,
    });
    this.worker.on('error', (err) => this.logger.warn(`push worker: ${err.message}`));
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`push job ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  async process(job: Job<PushReadsPayload>): Promise<PushJobResult> {
    if (job.name !== PUSH_JOBS.READS) throw new Error(`unknown push job ${job.name}`);
    const reads = job.data.reads;
    const places = [];
    for (let i = 0; i < reads.length; i++) {
      const place = this.store.reserve();
      if (!place) {
        for (const taken of places) taken.cancel();
        throw new Error('store backlog full: pushed reads are taken again later');
      }
      places.push(place);
    }
    const exchanges = reads.map(exchangeOf);
    const results: StoreResult[] = await Promise.all(
      places.map((place, i) => place.store(readRecord(exchanges[i], 'push', null))),
    );
    let stored = 0;
    let lost = 0;
    results.forEach((result, i) => {
      if (result.lost) lost++;
      if (result.stored) stored++;
      this.events.publish(exchanges[i], 'push', result, reads[i].areaId);
    });
    if (lost > 0) throw new Error(`${lost} pushed read(s) could not be stored`);
    return { stored, duplicates: reads.length - stored };
  }
}
