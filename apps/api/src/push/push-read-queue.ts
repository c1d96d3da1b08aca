import { JOB_RETENTION, PUSH_JOBS, PushedRead, PushReadsPayload, QUEUES } from '@app/contracts';
import { InjectQueue } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { DependencyUnavailableException } from '../common/dependency-errors';
import { Queue } from 'bullmq';

/** How long a verified read waits for others to share its job (and the worker's statement). */
export const PUSH_COLLECT_MS = 20;
/** Reads per PUSH job. */
export const PUSH_JOB_MAX_READS = 500;
/** Verified reads this api holds waiting for Redis; beyond it pushes are answered 503 (the meter retries). */
export const PUSH_MAX_PENDING_READS = 20_000;

const SHUTDOWN_FLUSH_MS = 5000;
/**
 * A job Redis has not acknowledged by then is answered 503 (the meters retry). It may still land later and
 * be stored: a retried read is stored once (unique per meter and instant), so nothing is acknowledged twice
 * nor lost.
 */
export const PUSH_ENQUEUE_TIMEOUT_MS = 3000;

/** A job that could not be stored yet (store backlog full, PostgreSQL away) is retried for ~17 minutes (500 ms doubling, 12 attempts). */
const PUSH_JOB_ATTEMPTS = { attempts: 12, backoff: { type: 'exponential', delay: 500 } } as const;

interface Waiting {
  read: PushedRead;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Verified pushed reads go to the workers in jobs of up to PUSH_JOB_MAX_READS reads collected over
 * PUSH_COLLECT_MS: 5,000 pushes a second are ~10 jobs, not 5,000. A push is answered once its job is in
 * Redis, so an accepted read survives this api going away; the worker stores it with the polled reads.
 */
@Injectable()
export class PushReadQueue implements BeforeApplicationShutdown {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private timer?: NodeJS.Timeout;

  constructor(@InjectQueue(QUEUES.PUSH) private readonly queue: Queue<PushReadsPayload>) {}

  add(read: PushedRead): Promise<void> {
    if (this.waiting.length + this.inFlight >= PUSH_MAX_PENDING_READS) {
      return Promise.reject(new ServiceUnavailableException('push backlog full, retry later'));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ read, resolve, reject });
      if (this.waiting.length >= PUSH_JOB_MAX_READS) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), PUSH_COLLECT_MS);
    });
  }

  /** Shutdown: what was accepted reaches Redis before the queue's connection closes (bounded wait). */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    while (this.waiting.length + this.inFlight > 0 && Date.now() < deadline) {
      this.flush();
      await new Promise((resolve) => setTimeout(resolve, PUSH_COLLECT_MS));
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, PUSH_JOB_MAX_READS);
      this.inFlight += batch.length;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DependencyUnavailableException(['redis'])),
          PUSH_ENQUEUE_TIMEOUT_MS,
        );
      });
      const added = this.queue.add(
        PUSH_JOBS.READS,
        { reads: batch.map((w) => w.read) },
        { ...JOB_RETENTION, ...PUSH_JOB_ATTEMPTS },
      );
      // The reads count as pending until Redis has answered either way (memory stays bounded).
      void added
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          this.inFlight -= batch.length;
        });
      void Promise.race([added, timedOut]).then(
        () => batch.forEach((w) => w.resolve()),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      );
    }
  }
}
