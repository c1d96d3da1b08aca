import {
  encodeRealtimeEntry,
  MeterAlarmEvent,
  MeterReadingUpdateEvent,
  MeterStatusChangeEvent,
  realtimeEntryFields,
  realtimeEnvelopeUid,
  realtimeRedisNames,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import { CommonEnv } from '@app/config';
import { EventMetrics } from '@app/metrics';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

/**
 * Events waiting for Redis (sent but not yet acknowledged, or buffered while Redis is away). Beyond it new
 * events are dropped and counted, so a slow or absent Redis never grows memory nor slows polls or
 * requests. 10,000 events are ~6 s of a 100,000-meter fleet polled every minute (~15 MB at most), and
 * minutes of a small one: a Redis restart loses nothing.
 */
export const MAX_BUFFERED_EVENTS = 10_000;
/** Entries per round trip while catching up after an outage. */
const FLUSH_BATCH = 500;
const CONNECT_WAIT_MS = 5_000;
const SHUTDOWN_DRAIN_MS = 3_000;
const LOSS_LOG_EVERY_MS = 10_000;

/**
 * Names the publishing process kind in its publisher id (`w` worker, `a` api), for the gateways' logs and
 * stats. Whatever the name, every publisher instance gets its own id (pid + random bytes).
 */
export const REALTIME_PUBLISHER_NAME = 'REALTIME_PUBLISHER_NAME';

export interface MeterEventsPublisherStats {
  publisherId: string;
  /** Events appended to the stream (acknowledged by Redis). */
  published: number;
  /** Events dropped, never appended: the buffer was full (Redis away for long) or the process was closing. */
  dropped: number;
  /** Events waiting for Redis. */
  pending: number;
  /** Appends retried after Redis dropped the connection before answering (the gateways deliver them once). */
  retried: number;
}

/**
 * The publishing side of live updates (workers after reads, the api after operators' status changes): each
 * event is appended once to the Socket.IO Redis streams adapter's stream (wire format in @app/contracts
 * realtime-wire), which every api instance reads. Calls return at once and never throw: events go to a
 * bounded in-memory buffer that is written to Redis in order, in pipelined batches, and kept while Redis is
 * away (a restart loses nothing); what the bound forces out is counted and logged, never silent.
 */
@Injectable()
export class MeterEventsPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MeterEventsPublisher.name);
  readonly publisherId: string;
  private readonly stream: string;
  private readonly maxLen: number;
  private readonly redis: Redis;
  /** Numbered entries not yet acknowledged by Redis, oldest first. */
  private readonly buffer: string[][] = [];
  private seq = 0;
  private flushing = false;
  private published = 0;
  private dropped = 0;
  private retried = 0;
  private unreportedLosses = 0;
  private lastLossLogAt = 0;
  private lastError = '';
  private closed = false;

  constructor(
    env: CommonEnv,
    @Optional() @Inject(REALTIME_PUBLISHER_NAME) name?: string,
    @Optional() private readonly metrics?: EventMetrics,
  ) {
    this.publisherId = `${name ?? 'w'}${process.pid}-${randomBytes(4).toString('hex')}`;
    this.stream = realtimeRedisNames(env.QUEUE_PREFIX, env.REDIS_URL).stream;
    this.maxLen = env.REALTIME_STREAM_MAX_LEN;
    this.redis = new Redis(env.REDIS_URL, {
      connectionName: `hes-events-${this.publisherId}`,
      lazyConnect: true,
      // The buffer above is the only queue: bounded, ordered, and retried by this class.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 5_000,
    });
    this.redis.on('error', (err: Error) => {
      if (err.message !== this.lastError) this.logger.warn(`Redis (live events): ${err.message}`);
      this.lastError = err.message;
    });
    this.redis.on('ready', () => {
      if (this.lastError) this.logger.log('Redis (live events) connection restored');
      this.lastError = '';
      this.flush();
    });
  }

  async onModuleInit(): Promise<void> {
    const connected = this.redis.connect().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<boolean>((resolve) => setTimeout(resolve, CONNECT_WAIT_MS, false).unref());
    if (!(await Promise.race([connected, timedOut]))) {
      this.logger.warn(
        `Redis (live events) not reachable yet; up to ${MAX_BUFFERED_EVENTS} events are kept until it is`,
      );
    }
  }

  /** After every stored read (scheduled or on-demand): to the meter's room. */
  readingUpdated(event: MeterReadingUpdateEvent, _areaId: string): void {
    this.append(WS_EVENTS.READING_UPDATE, event, [ROOMS.meter(event.meterId)]);
  }

  /** After every status change: to the meter's room, its area's room and the fleet room, as one entry. */
  statusChanged(event: MeterStatusChangeEvent, areaId: string): void {
    this.append(WS_EVENTS.STATUS_CHANGE, event, [
      ROOMS.meter(event.meterId),
      ROOMS.area(areaId),
      ROOMS.fleet,
    ]);
  }

  /** After an alarm is raised, acknowledged or cleared: to the meter's, its area's and the fleet room. */
  alarmChanged(event: MeterAlarmEvent): void {
    this.append(WS_EVENTS.ALARM, event, [ROOMS.meter(event.meterId), ROOMS.area(event.areaId), ROOMS.fleet]);
  }

  stats(): MeterEventsPublisherStats {
    return {
      publisherId: this.publisherId,
      published: this.published,
      dropped: this.dropped,
      pending: this.buffer.length,
      retried: this.retried,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    // Reads finishing during shutdown still publish: give the buffer a short grace before closing.
    const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
    while (this.buffer.length > 0 && this.redis.status === 'ready' && Date.now() < deadline) {
      this.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.closed = true;
    if (this.buffer.length > 0) this.lose(this.buffer.splice(0).length);
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.reportLosses(true);
  }

  private append(event: string, payload: unknown, rooms: string[]): void {
    if (this.closed || this.buffer.length >= MAX_BUFFERED_EVENTS) {
      this.lose(1);
      return;
    }
    this.metrics?.published(event);
    const uid = realtimeEnvelopeUid(this.publisherId, ++this.seq);
    this.buffer.push(realtimeEntryFields(encodeRealtimeEntry(uid, event, payload, rooms)));
    this.flush();
  }

  /**
   * Writes the buffer's head in one pipeline; entries leave the buffer only once Redis acknowledged them.
   * One flush at a time keeps the stream in publishing order. On a connection failure the unacknowledged
   * entries stay and go again once Redis is back ('ready'): one may then be in the stream twice, which the
   * gateways drop by its number.
   */
  private flush(): void {
    if (this.flushing || this.closed || this.buffer.length === 0 || this.redis.status !== 'ready') return;
    this.flushing = true;
    const batch = this.buffer.slice(0, FLUSH_BATCH);
    const pipeline = this.redis.pipeline();
    for (const fields of batch) pipeline.xadd(this.stream, 'MAXLEN', '~', this.maxLen, '*', ...fields);
    pipeline.exec().then(
      (results) => {
        let acknowledged = 0;
        while (acknowledged < batch.length && results?.[acknowledged] && !results[acknowledged][0]) {
          acknowledged++;
        }
        this.buffer.splice(0, acknowledged);
        this.published += acknowledged;
        if (acknowledged < batch.length) this.failedFlush(results?.[acknowledged]?.[0] ?? null);
        this.flushing = false;
        if (acknowledged === batch.length) this.flush();
      },
      (err: Error) => {
        this.failedFlush(err);
        this.flushing = false;
      },
    );
  }

  private failedFlush(err: Error | null): void {
    this.retried++;
    if (err) this.lastError = err.message;
    // A refusal by a healthy Redis (e.g. out of memory) would repeat forever: retry on the next event or
    // reconnection rather than in a loop.
  }

  private lose(count: number): void {
    this.dropped += count;
    this.unreportedLosses += count;
    this.reportLosses(false);
  }

  private reportLosses(force: boolean): void {
    const now = Date.now();
    if (this.unreportedLosses === 0 || (!force && now - this.lastLossLogAt < LOSS_LOG_EVERY_MS)) return;
    this.logger.warn(
      `live events lost: ${this.unreportedLosses} since last report (total dropped=${this.dropped}, ` +
        `buffered=${this.buffer.length}${this.lastError ? `, last error: ${this.lastError}` : ''})`,
    );
    this.unreportedLosses = 0;
    this.lastLossLogAt = now;
  }
}
