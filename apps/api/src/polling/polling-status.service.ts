import {
  histogramPercentile,
  INTERVAL_STATS_FIELDS,
  intervalIndex,
  pollingKeys,
  QUEUES,
  WorkerHeartbeat,
} from '@app/contracts';
import { ApiEnv } from '@app/config';
import { PG_POOL } from '@app/database';
import { InjectQueue } from '@nestjs/bullmq';
import type { AccessScope } from '../auth/access-scope';
import { Inject, Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { desiredSchedulers } from './poll-schedule.plan';
import { PollingIntervalService } from './polling-interval.service';
import { API_POLLING_REDIS } from './polling-redis.provider';

/** Used for the settle delay when no worker reports its METER_TIMEOUT_MS. */
const DEFAULT_METER_TIMEOUT_MS = 10_000;
/** Time for a batch's results to be stored and counted after its last meter's deadline. */
const STORE_SLACK_MS = 2_000;
/**
 * How stale the online/offline counts may be: counting 100,000 meters on every request of every open
 * console would be most of this endpoint's cost, and statuses change at the pace of polling anyway.
 */
export const METER_COUNTS_TTL_MS = 2_000;
/** Distinct scopes whose counts are memoised at once (see meterCounts). */
const MAX_COUNTED_SCOPES = 1_000;

export interface QueueDepths {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface LastIntervalStats {
  from: string;
  to: string;
  polled: number;
  succeeded: number;
  failed: number;
  responseTimeMs: { p50: number | null; p95: number | null; p99: number | null };
}

export interface PollingStatus {
  isPolling: boolean;
  /** The fleet-wide interval in force (PostgreSQL settings), whatever each process's environment says. */
  pollingIntervalMs: number;
  activePolls: number;
  maxConcurrentPolls: number;
  onlineMeterCount: number;
  offlineMeterCount: number;
  workers: number;
  queues: { poll: QueueDepths; command: QueueDepths };
  lastInterval: LastIntervalStats;
}

/**
 * The state of polling across all workers: live workers and their load from heartbeats, meter counts
 * from PostgreSQL, queue depths from BullMQ, and the last settled interval's stats that workers count in
 * Redis (an interval is reported once its reads can no longer be in flight: its end + the meter
 * timeout + slack), so the figures equal what meter_reads holds for that interval.
 */
@Injectable()
export class PollingStatusService {
  private readonly keys: ReturnType<typeof pollingKeys>;
  /** The last count and when it was started; concurrent requests share one query in flight. */
  private readonly counts = new Map<
    string,
    { startedAt: number; value: Promise<{ online: number; offline: number }> }
  >();

  constructor(
    @InjectQueue(QUEUES.POLL) private readonly pollQueue: Queue,
    @InjectQueue(QUEUES.COMMAND) private readonly commandQueue: Queue,
    @Inject(API_POLLING_REDIS) private readonly redis: Redis,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly interval: PollingIntervalService,
    env: ApiEnv,
  ) {
    this.keys = pollingKeys(env.QUEUE_PREFIX);
  }

  /**
   * `scope`: the online/offline meter counts are the caller's areas'; the rest (workers, queues, the last
   * interval) describes the polling machinery, which is one for the fleet and names no meter.
   */
  async getStatus(scope: AccessScope, nowMs = Date.now()): Promise<PollingStatus> {
    const intervalMs = await this.interval.current();
    const [workers, counts, schedulerCount, poll, command] = await Promise.all([
      this.liveWorkers(),
      this.meterCounts(scope),
      this.pollQueue.getJobSchedulersCount(),
      this.queueDepths(this.pollQueue),
      this.queueDepths(this.commandQueue),
    ]);
    const timeoutMs = workers.length
      ? Math.max(...workers.map((w) => w.meterTimeoutMs || DEFAULT_METER_TIMEOUT_MS))
      : DEFAULT_METER_TIMEOUT_MS;
    const index = intervalIndex(nowMs - timeoutMs - STORE_SLACK_MS, intervalMs) - 1;
    return {
      isPolling: schedulerCount >= desiredSchedulers(intervalMs).length && workers.length > 0,
      pollingIntervalMs: intervalMs,
      activePolls: workers.reduce((sum, w) => sum + w.activePolls, 0),
      maxConcurrentPolls: workers.reduce((sum, w) => sum + w.maxConcurrentPolls, 0),
      onlineMeterCount: counts.online,
      offlineMeterCount: counts.offline,
      workers: workers.length,
      queues: { poll, command },
      lastInterval: await this.intervalStats(intervalMs, index),
    };
  }

  private async liveWorkers(): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.zrange(this.keys.workers, 0, -1);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    const live: WorkerHeartbeat[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      if (v) live.push(JSON.parse(v) as WorkerHeartbeat);
      else gone.push(ids[i]);
    });
    if (gone.length) await this.redis.zrem(this.keys.workers, ...gone);
    return live;
  }

  /**
   * At most METER_COUNTS_TTL_MS old, per scope (the fleet, or one set of areas); a failed count is not
   * kept. Scopes are as many as users and keys with distinct sets of areas (the same set in any order is
   * one scope); the memo is emptied past MAX_COUNTED_SCOPES.
   */
  private meterCounts(scope: AccessScope): Promise<{ online: number; offline: number }> {
    const key = scope.areaIds ? [...scope.areaIds].sort().join(',') : '';
    const now = Date.now();
    const cached = this.counts.get(key);
    if (cached && now - cached.startedAt < METER_COUNTS_TTL_MS) return cached.value;
    if (this.counts.size >= MAX_COUNTED_SCOPES) this.counts.clear();
    const counts = { startedAt: now, value: this.countMeters(scope) };
    this.counts.set(key, counts);
    counts.value.catch(() => {
      if (this.counts.get(key) === counts) this.counts.delete(key);
    });
    return counts.value;
  }

  private async countMeters(scope: AccessScope): Promise<{ online: number; offline: number }> {
    const { rows } = await this.pool.query<{ online: string; offline: string }>(
      `SELECT count(*) FILTER (WHERE status = 'online') AS online, count(*) FILTER (WHERE status = 'offline') AS offline
       FROM meters WHERE deleted_at IS NULL AND ($1::uuid[] IS NULL OR area_id = ANY($1::uuid[]))`,
      [scope.areaIds],
    );
    return { online: Number(rows[0].online), offline: Number(rows[0].offline) };
  }

  private async queueDepths(queue: Queue): Promise<QueueDepths> {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  }

  private async intervalStats(intervalMs: number, index: number): Promise<LastIntervalStats> {
    const hash = await this.redis.hgetall(this.keys.intervalStats(intervalMs, index));
    const histogram = new Map<number, number>();
    for (const [field, value] of Object.entries(hash)) {
      if (field.startsWith(INTERVAL_STATS_FIELDS.HISTOGRAM_PREFIX)) {
        histogram.set(Number(field.slice(INTERVAL_STATS_FIELDS.HISTOGRAM_PREFIX.length)), Number(value));
      }
    }
    return {
      from: new Date(index * intervalMs).toISOString(),
      to: new Date((index + 1) * intervalMs).toISOString(),
      polled: Number(hash[INTERVAL_STATS_FIELDS.POLLED] ?? 0),
      succeeded: Number(hash[INTERVAL_STATS_FIELDS.SUCCEEDED] ?? 0),
      failed: Number(hash[INTERVAL_STATS_FIELDS.FAILED] ?? 0),
      responseTimeMs: {
        p50: histogramPercentile(histogram, 0.5),
        p95: histogramPercentile(histogram, 0.95),
        p99: histogramPercentile(histogram, 0.99),
      },
    };
  }
}
