import {
  INTERVAL_STATS_FIELDS,
  intervalIndex,
  intervalStatsTtlMs,
  pollingKeys,
  responseTimeBucket,
} from '@app/contracts';
import { CommonEnv } from '@app/config';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { POLLING_REDIS } from './polling-redis.provider';

export interface StoredScheduledRead {
  readAt: Date;
  ok: boolean;
  responseTimeMs: number;
}

/**
 * Per-interval counters of stored scheduled reads (polled / succeeded / failed) and a fixed-bucket
 * response-time histogram, in one Redis hash per interval (`…:polling:interval:<ms>:<k>`, with a TTL).
 * A read counts in the interval its read_at falls in, exactly as the database sees it, and is counted
 * only after its row is committed; the api reads these for GET /api/meters/polling/status.
 */
@Injectable()
export class PollStatsRecorder {
  private readonly logger = new Logger(PollStatsRecorder.name);
  private readonly keys: ReturnType<typeof pollingKeys>;

  constructor(
    @Inject(POLLING_REDIS) private readonly redis: Redis,
    env: CommonEnv,
  ) {
    this.keys = pollingKeys(env.QUEUE_PREFIX);
  }

  /** Counts stored scheduled reads of ticks scheduled with `intervalMs` (the fleet-wide interval). */
  async recordScheduledReads(reads: readonly StoredScheduledRead[], intervalMs: number): Promise<void> {
    if (reads.length === 0) return;
    const perKey = new Map<string, Map<string, number>>();
    const add = (key: string, field: string, n = 1) => {
      let fields = perKey.get(key);
      if (!fields) perKey.set(key, (fields = new Map()));
      fields.set(field, (fields.get(field) ?? 0) + n);
    };
    for (const r of reads) {
      const key = this.keys.intervalStats(intervalMs, intervalIndex(r.readAt.getTime(), intervalMs));
      add(key, INTERVAL_STATS_FIELDS.POLLED);
      add(key, r.ok ? INTERVAL_STATS_FIELDS.SUCCEEDED : INTERVAL_STATS_FIELDS.FAILED);
      add(key, `${INTERVAL_STATS_FIELDS.HISTOGRAM_PREFIX}${responseTimeBucket(r.responseTimeMs)}`);
    }
    const tx = this.redis.multi();
    for (const [key, fields] of perKey) {
      for (const [field, n] of fields) tx.hincrby(key, field, n);
      tx.pexpire(key, intervalStatsTtlMs(intervalMs));
    }
    // Statistics must never fail a batch whose reads are already stored.
    await tx.exec().catch((err: Error) => this.logger.warn(`interval stats not recorded: ${err.message}`));
  }
}
