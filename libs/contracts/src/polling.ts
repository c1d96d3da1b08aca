/**
 * Pure arithmetic and Redis key names of scheduled polling, shared by the api (schedules, status) and the
 * worker (ticks, stats). No I/O here, so both sides agree by construction and unit specs cover it.
 *
 * Shape: the interval is cut into S slots (one per second, at most MAX_POLL_SLOTS). Slot s has a job
 * scheduler `poll-slot:<s>` firing every interval at offset (s + ½)·interval/S, and owns the meters whose
 * stable `poll_bucket` (0..9999) falls in its bucket range. So each meter is polled once per interval
 * and the fleet's polls are spread evenly over it.
 */

/** meters.poll_bucket takes values 0..POLL_BUCKETS-1. */
export const POLL_BUCKETS = 10000;
/** Upper bound on the number of slot schedulers, whatever the interval. */
export const MAX_POLL_SLOTS = 600;
/** Meters per BATCH job. */
export const POLL_BATCH_SIZE = 100;
/** Housekeeping cadence (partitions). */
export const MAINTENANCE_EVERY_MS = 3600_000;

export function pollSlotCount(intervalMs: number): number {
  return Math.min(MAX_POLL_SLOTS, Math.max(1, Math.floor(intervalMs / 1000)));
}

/**
 * Offset of slot `slot` inside the interval. Always > 0: BullMQ treats offset 0 as "align to now", which
 * would put slot 0 at a random place.
 */
export function slotOffsetMs(slot: number, slotCount: number, intervalMs: number): number {
  return Math.floor(((slot + 0.5) * intervalMs) / slotCount);
}

/** Bucket range [from, to) owned by `slot`; the ranges of all slots tile 0..POLL_BUCKETS exactly. */
export function slotBucketRange(slot: number, slotCount: number): { from: number; to: number } {
  return {
    from: Math.floor((slot * POLL_BUCKETS) / slotCount),
    to: Math.floor(((slot + 1) * POLL_BUCKETS) / slotCount),
  };
}

/** Interval number of an epoch-ms time: interval k covers [k·interval, (k+1)·interval). */
export function intervalIndex(epochMs: number, intervalMs: number): number {
  return Math.floor(epochMs / intervalMs);
}

/**
 * Delay before the next poll of a meter that has failed `consecutiveFailures` times in a row, once it is
 * offline (failures ≥ threshold): interval × 2^(failures − threshold), capped. Null while still online.
 */
export function offlineBackoffMs(
  consecutiveFailures: number,
  threshold: number,
  intervalMs: number,
  maxMs: number,
): number | null {
  if (consecutiveFailures < threshold) return null;
  const exponent = Math.min(consecutiveFailures - threshold, 40);
  return Math.min(intervalMs * 2 ** exponent, Math.max(maxMs, intervalMs));
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** BullMQ custom ids may not contain ':'; the id makes a repeated tick add the same batch jobs again (no-op). */
export function batchJobId(slot: number, tickAt: number, chunkIndex: number): string {
  return `batch-${slot}-${tickAt}-${chunkIndex}`;
}

/** Scheduler job ids are `repeat:<schedulerId>:<millis>`; millis is when the tick was due. */
export function tickTimeFromJobId(jobId: string | undefined): number | null {
  if (!jobId) return null;
  const millis = Number(jobId.slice(jobId.lastIndexOf(':') + 1));
  return Number.isSafeInteger(millis) && millis > 0 ? millis : null;
}

/**
 * Response-time histogram with fixed buckets: 1 ms wide below 20 ms, then 5 % wide, so a percentile read
 * from it is within 5 % of the exact one and the bucket count stays ~200 up to two minutes.
 */
const LINEAR_LIMIT = 20;
const GROWTH = 1.05;

export function responseTimeBucket(ms: number): number {
  const v = Math.max(0, Math.ceil(ms));
  if (v <= LINEAR_LIMIT) return v;
  return LINEAR_LIMIT + Math.ceil(Math.log(v / LINEAR_LIMIT) / Math.log(GROWTH));
}

/** Largest response time (ms) counted in `bucket`. */
export function responseTimeBucketUpperMs(bucket: number): number {
  if (bucket <= LINEAR_LIMIT) return bucket;
  return Math.floor(LINEAR_LIMIT * GROWTH ** (bucket - LINEAR_LIMIT));
}

/** Percentile (0 < p ≤ 1) of a histogram given as bucket → count; null when empty. */
export function histogramPercentile(histogram: ReadonlyMap<number, number>, p: number): number | null {
  const buckets = [...histogram.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [bucket, n] of buckets) {
    seen += n;
    if (seen >= rank) return responseTimeBucketUpperMs(bucket);
  }
  return responseTimeBucketUpperMs(buckets[buckets.length - 1][0]);
}

/** Field names of an interval's stats hash. Histogram fields are `h<bucket>`. */
export const INTERVAL_STATS_FIELDS = {
  POLLED: 'polled',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  HISTOGRAM_PREFIX: 'h',
} as const;

/** How long an interval's stats hash lives: a few intervals, at least ten minutes. */
export function intervalStatsTtlMs(intervalMs: number): number {
  return Math.max(10 * 60_000, 5 * intervalMs);
}

/** Worker heartbeat cadence and how long a silent worker still counts as live. */
export const WORKER_HEARTBEAT_MS = 2000;
export const WORKER_HEARTBEAT_TTL_MS = 10_000;

/** What each live worker writes at every heartbeat. */
export interface WorkerHeartbeat {
  workerId: string;
  pid: number;
  host: string;
  activePolls: number;
  maxConcurrentPolls: number;
  /** The worker's METER_TIMEOUT_MS: the api waits this long after an interval before reporting it. */
  meterTimeoutMs: number;
  intervalMs: number;
  startedAt: string;
  beatAt: string;
}

/** Redis keys of the polling subsystem, under the BullMQ prefix (so a Cluster hash tag covers them). */
export function pollingKeys(prefix: string) {
  const base = `${prefix}:polling`;
  return {
    /** Sorted set: workerId → last heartbeat (epoch ms). */
    workers: `${base}:workers`,
    worker: (workerId: string) => `${base}:worker:${workerId}`,
    intervalStats: (intervalMs: number, index: number) => `${base}:interval:${intervalMs}:${index}`,
    reconcileLock: `${base}:reconcile-lock`,
    meterLock: (meterId: string) => `${prefix}:meter-lock:${meterId}`,
  };
}

/**
 * `settings` key of the fleet-wide polling interval in force (ms), per queue prefix: processes sharing a
 * prefix are one fleet. Written by the api (seeded from METER_POLLING_INTERVAL, changed by an admin).
 */
export function pollingIntervalSettingKey(queuePrefix: string): string {
  return `polling.intervalMs:${queuePrefix}`;
}
