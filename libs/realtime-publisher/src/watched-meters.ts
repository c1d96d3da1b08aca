import { CommonEnv } from '@app/config';
import { realtimeRedisNames, type RealtimeRedisNames, ROOMS } from '@app/contracts';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';

/**
 * Which meters someone watches live. A reading update goes only to its meter's room, and at fleet scale
 * almost no meter room has a socket in it: encoding and appending 100,000 updates a minute that nobody
 * receives cost a worker a tenth of its CPU (and every api instance the reading of them). So publishers ask
 * this registry first.
 *
 * The registry is a Redis sorted set (member: meter id; score: epoch ms until which it counts as watched):
 * - api instances write it (WatchedMeterRegistry): a socket joining a meter room marks the meter before its
 *   join-room is acknowledged and announces it on a channel; every few seconds each instance marks again
 *   the meter rooms its sockets are in. A mark lasts the recovery window and more, so a client that lost its
 *   connection still has its meters' updates kept in the stream when it comes back (connection state
 *   recovery), on any instance.
 * - workers read it (WatchedMeters): the whole set every few seconds (expiries), and the announcements as
 *   they come, so a join is known to the workers within milliseconds.
 */

/** How often an api instance marks again the meter rooms its sockets are in. */
export const WATCH_RENEW_EVERY_MS = 10_000;
/** How often a worker reads the whole registry (expiries, and marks whose announcement it missed). */
const VIEW_REFRESH_EVERY_MS = 5_000;
/**
 * Meters a worker's view holds. A registry beyond it (more meters watched than a fleet has) is not read:
 * every meter then counts as watched, which is what publishing cost before the registry.
 */
export const MAX_WATCHED_METERS = 100_000;

const METER_ROOM_PREFIX = ROOMS.meter('');

/** The meter ids of the meter rooms among `rooms`. */
export function watchedMeterIds(rooms: Iterable<string>): string[] {
  const ids: string[] = [];
  for (const room of rooms)
    if (room.startsWith(METER_ROOM_PREFIX)) ids.push(room.slice(METER_ROOM_PREFIX.length));
  return ids;
}

interface WatchAnnouncement {
  until: number;
  meterIds: string[];
}

/** The api's side: marks meters as watched (see the file comment). */
export class WatchedMeterRegistry {
  private readonly ttlMs: number;

  /** `recoveryWindowMs`: how long a disconnected client may come back and get what it missed. */
  constructor(
    private readonly redis: Redis,
    private readonly names: RealtimeRedisNames,
    recoveryWindowMs: number,
  ) {
    // Two renewals may fail (Redis away) before a room with sockets in it stops counting.
    this.ttlMs = recoveryWindowMs + 3 * WATCH_RENEW_EVERY_MS;
  }

  /** Meters a socket just joined: marked, and announced to the workers, before the join is acknowledged. */
  async watch(meterIds: readonly string[]): Promise<void> {
    if (meterIds.length === 0) return;
    const until = Date.now() + this.ttlMs;
    const announcement: WatchAnnouncement = { until, meterIds: [...meterIds] };
    await this.redis
      .multi()
      .zadd(this.names.watchedMeters, 'GT', ...meterIds.flatMap((id) => [until, id]))
      .publish(this.names.watchedMetersChannel, JSON.stringify(announcement))
      .exec();
  }

  /** The meter rooms this instance's sockets are in, marked again; marks that ran out are removed. */
  async renew(meterIds: readonly string[]): Promise<void> {
    const now = Date.now();
    const multi = this.redis.multi().zremrangebyscore(this.names.watchedMeters, '-inf', now);
    if (meterIds.length > 0) {
      multi.zadd(this.names.watchedMeters, 'GT', ...meterIds.flatMap((id) => [now + this.ttlMs, id]));
    }
    await multi.exec();
  }
}

/**
 * A publisher's view of the registry: `isWatched(meterId)` answers from memory. Until the registry has been
 * read once (Redis away since start) every meter counts as watched: the cost of not knowing is publishing
 * what nobody gets, never losing what someone waits for. Redis going away later keeps the last view.
 */
@Injectable()
export class WatchedMeters implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WatchedMeters.name);
  private readonly names: RealtimeRedisNames;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  /** Meter id → epoch ms it is watched until; null: not known (everything counts as watched). */
  private view: Map<string, number> | null = null;
  /** Announcements received while a read of the whole registry is in flight (it may predate them). */
  private duringRefresh: WatchAnnouncement[] | null = null;
  private timer?: NodeJS.Timeout;
  private lastError = '';

  constructor(env: CommonEnv) {
    this.names = realtimeRedisNames(env.QUEUE_PREFIX, env.REDIS_URL);
    this.redis = new Redis(env.REDIS_URL, {
      connectionName: 'hes-watched-meters',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 5_000,
    });
    this.subscriber = new Redis(env.REDIS_URL, {
      connectionName: 'hes-watched-meters-sub',
      lazyConnect: true,
    });
    for (const connection of [this.redis, this.subscriber]) {
      connection.on('error', (err: Error) => this.warn(err));
    }
    this.redis.on('ready', () => {
      this.lastError = '';
      void this.refresh();
    });
    this.subscriber.on('message', (_channel: string, message: string) => this.announced(message));
  }

  onModuleInit(): void {
    // Never holds the boot: until the registry is read, every meter counts as watched.
    this.redis.connect().catch(() => undefined);
    this.subscriber.subscribe(this.names.watchedMetersChannel).catch(() => undefined);
    this.timer = setInterval(() => void this.refresh(), VIEW_REFRESH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(
      [this.redis, this.subscriber].map((c) =>
        c.quit().then(
          () => undefined,
          () => c.disconnect(),
        ),
      ),
    );
  }

  isWatched(meterId: string): boolean {
    if (!this.view) return true;
    const until = this.view.get(meterId);
    return until !== undefined && until > Date.now();
  }

  /** Reads the whole registry (also run by tests, which cannot wait for the timer). */
  async refresh(): Promise<void> {
    if (this.redis.status !== 'ready' || this.duringRefresh) return;
    this.duringRefresh = [];
    try {
      const flat = await this.redis.zrangebyscore(
        this.names.watchedMeters,
        Date.now(),
        '+inf',
        'WITHSCORES',
        'LIMIT',
        0,
        MAX_WATCHED_METERS,
      );
      if (flat.length / 2 >= MAX_WATCHED_METERS) {
        this.view = null;
        return;
      }
      const view = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) view.set(flat[i], Number(flat[i + 1]));
      for (const a of this.duringRefresh) for (const id of a.meterIds) view.set(id, a.until);
      this.view = view;
    } catch (err) {
      // Keep the last view; the next refresh tries again.
      this.warn(err as Error);
    } finally {
      this.duringRefresh = null;
    }
  }

  /** Once per distinct error in a row: a Redis outage is one line, not one per retry. */
  private warn(err: Error): void {
    if (err.message !== this.lastError) this.logger.warn(`Redis (watched meters): ${err.message}`);
    this.lastError = err.message;
  }

  private announced(message: string): void {
    let announcement: WatchAnnouncement;
    try {
      announcement = JSON.parse(message) as WatchAnnouncement;
      if (!Number.isFinite(announcement.until) || !Array.isArray(announcement.meterIds)) return;
    } catch {
      return;
    }
    this.duringRefresh?.push(announcement);
    if (!this.view) return;
    for (const id of announcement.meterIds) if (typeof id === 'string') this.view.set(id, announcement.until);
    if (this.view.size > MAX_WATCHED_METERS) this.view = null;
  }
}
