import {
  encodeRealtimeBroadcast,
  encodeRealtimeHeartbeat,
  MeterReadingUpdateEvent,
  MeterStatusChangeEvent,
  REALTIME_HEARTBEAT_INTERVAL_MS,
  REALTIME_HEARTBEAT_ROOM,
  realtimeBroadcastChannel,
  realtimeChannelKey,
  realtimeEnvelopeUid,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

/**
 * Publishes cap: beyond this many PUBLISH commands awaiting Redis's reply, new events are dropped (and
 * counted) rather than queued, so a slow or absent Redis never grows memory nor slows polls or requests.
 */
const MAX_PENDING_PUBLISHES = 10_000;
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
  /** Messages handed to Redis and acknowledged by it. */
  published: number;
  /** Messages Redis refused or that failed on the connection (the gateways also see the gap). */
  failed: number;
  /** Messages dropped before sending: Redis disconnected or too many publishes pending. */
  dropped: number;
  pending: number;
}

/**
 * The publishing side of live updates (workers after reads, the api after operators' status changes):
 * fire-and-forget broadcasts to the api instances' Socket.IO Redis adapters (wire format in
 * @app/contracts realtime-wire). Calls return at once and never throw; every
 * message carries this publisher's sequence number so that losses on the way are counted by the
 * gateways, and losses here are counted and logged.
 */
@Injectable()
export class MeterEventsPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MeterEventsPublisher.name);
  readonly publisherId: string;
  private readonly channelKey: string;
  private readonly redis: Redis;
  private seq = 0;
  private pending = 0;
  private published = 0;
  private failed = 0;
  private dropped = 0;
  private unreportedLosses = 0;
  private lastLossLogAt = 0;
  private lastError = '';
  private heartbeat?: NodeJS.Timeout;
  private closed = false;

  constructor(config: ConfigService, @Optional() @Inject(REALTIME_PUBLISHER_NAME) name?: string) {
    this.publisherId = `${name ?? 'w'}${process.pid}-${randomBytes(4).toString('hex')}`;
    const redisUrl = config.getOrThrow<string>('REDIS_URL');
    this.channelKey = realtimeChannelKey(config.get<string>('QUEUE_PREFIX') ?? 'hes', redisUrl);
    this.redis = new Redis(redisUrl, {
      connectionName: `hes-events-${this.publisherId}`,
      lazyConnect: true,
      // Fail fast instead of buffering while disconnected (unbounded memory, stale bursts later).
      enableOfflineQueue: false,
      // A resent PUBLISH could be delivered twice; a lost one is counted by the gateways instead.
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
    });
  }

  async onModuleInit(): Promise<void> {
    const connected = this.redis.connect().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<boolean>((resolve) => setTimeout(resolve, CONNECT_WAIT_MS, false).unref());
    if (!(await Promise.race([connected, timedOut]))) {
      this.logger.warn('Redis (live events) not reachable yet; events are dropped (and counted) until it is');
    }
    this.heartbeat = setInterval(() => this.sendHeartbeat(), REALTIME_HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** After every stored read (scheduled or on-demand): to the meter's room. */
  readingUpdated(event: MeterReadingUpdateEvent, _areaId: string): void {
    this.broadcast(WS_EVENTS.READING_UPDATE, event, [ROOMS.meter(event.meterId)]);
  }

  /** After every status change: to the meter's room, its area's room and the fleet room, as one message. */
  statusChanged(event: MeterStatusChangeEvent, areaId: string): void {
    this.broadcast(WS_EVENTS.STATUS_CHANGE, event, [
      ROOMS.meter(event.meterId),
      ROOMS.area(areaId),
      ROOMS.fleet,
    ]);
  }

  stats(): MeterEventsPublisherStats {
    return {
      publisherId: this.publisherId,
      published: this.published,
      failed: this.failed,
      dropped: this.dropped,
      pending: this.pending,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    // Jobs finishing during shutdown may still publish: give them a short grace before closing.
    const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.sendHeartbeat();
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.reportLosses(true);
  }

  private broadcast(event: string, payload: unknown, rooms: string[]): void {
    if (this.closed || this.redis.status !== 'ready' || this.pending >= MAX_PENDING_PUBLISHES) {
      this.dropped++;
      this.unreportedLosses++;
      this.reportLosses(false);
      return;
    }
    const uid = realtimeEnvelopeUid(this.publisherId, ++this.seq);
    this.send(
      realtimeBroadcastChannel(this.channelKey, rooms),
      encodeRealtimeBroadcast(uid, event, payload, rooms),
    );
  }

  /** Carries the latest sequence number (not a new one) so gateways notice a loss at the end of a burst. */
  private sendHeartbeat(): void {
    if (this.closed || this.seq === 0 || this.redis.status !== 'ready') return;
    const uid = realtimeEnvelopeUid(this.publisherId, this.seq);
    this.send(
      realtimeBroadcastChannel(this.channelKey, [REALTIME_HEARTBEAT_ROOM]),
      encodeRealtimeHeartbeat(uid),
      false,
    );
  }

  private send(channel: string, message: string, counted = true): void {
    this.pending++;
    this.redis.publish(channel, message).then(
      () => {
        this.pending--;
        if (counted) this.published++;
      },
      (err: Error) => {
        this.pending--;
        if (!counted) return;
        this.failed++;
        this.unreportedLosses++;
        this.lastError = err.message;
        this.reportLosses(false);
      },
    );
  }

  private reportLosses(force: boolean): void {
    const now = Date.now();
    if (this.unreportedLosses === 0 || (!force && now - this.lastLossLogAt < LOSS_LOG_EVERY_MS)) return;
    this.logger.warn(
      `live events lost: ${this.unreportedLosses} since last report (total dropped=${this.dropped}, ` +
        `failed=${this.failed}, pending=${this.pending}${this.lastError ? `, last error: ${this.lastError}` : ''})`,
    );
    this.unreportedLosses = 0;
    this.lastLossLogAt = now;
  }
}
