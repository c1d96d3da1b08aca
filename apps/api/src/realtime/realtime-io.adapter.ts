import { REALTIME_NAMESPACE, realtimeRedisNames } from '@app/contracts';
import { WATCH_RENEW_EVERY_MS, watchedMeterIds, WatchedMeterRegistry } from '@app/realtime-publisher';
import { ApiEnv } from '@app/config';
import { INestApplicationContext, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { corsSettings } from '../common/cors';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';
import { RealtimeRecovery } from './realtime-recovery';
import { RealtimeSessions } from './realtime-sessions';
import { createRealtimeStreamsAdapter } from './realtime-streams.adapter';

/** Nest's platform-socket.io carries its own copy of socket.io; use its types at this boundary. */
type IoServer = ReturnType<IoAdapter['createIOServer']>;
type IoServerOptions = Parameters<IoAdapter['createIOServer']>[1];

/**
 * The stream is trimmed by age as well as by length (REALTIME_STREAM_MAX_LEN, the memory bound at fleet
 * rate): entries older than the recovery window plus this margin serve nobody, so a small fleet keeps
 * minutes of events, not hours.
 */
const TRIM_MARGIN_MS = 30_000;
const TRIM_EVERY_MS = 10_000;

/**
 * Socket.IO on the api's HTTP port with the Redis streams adapter: every api instance reads the live
 * events the workers (and api instances) append to one Redis stream and delivers them to its own clients;
 * a client that lost its connection resumes, on any instance, from the last event it got (connection state
 * recovery, within REALTIME_RECOVERY_WINDOW_MS). Install with `app.useWebSocketAdapter(new
 * RealtimeIoAdapter(app))` before `app.listen`.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly logger = new Logger('RealtimeIoAdapter');
  private redis?: Redis;
  private trimTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override createIOServer(port: number, options?: IoServerOptions): IoServer {
    const env = this.app.get(ApiEnv, { strict: false });
    const monitor = this.app.get(RealtimeDeliveryMonitor, { strict: false });
    const cors = corsSettings(env.CORS_ORIGINS);
    const server = super.createIOServer(port, {
      ...options,
      ...(cors ? { cors } : {}),
      connectionStateRecovery: {
        maxDisconnectionDuration: env.REALTIME_RECOVERY_WINDOW_MS,
        // A recovered connection passes the handshake check again (the token may have expired meanwhile).
        skipMiddlewares: false,
      },
    });

    const names = realtimeRedisNames(env.QUEUE_PREFIX, env.REDIS_URL);
    const redis = (this.redis ??= this.connect(env.REDIS_URL, monitor));
    const recovery = new RealtimeRecovery();
    const sessions = new RealtimeSessions(redis, names, env.REALTIME_RECOVERY_WINDOW_MS);
    const watched = new WatchedMeterRegistry(redis, names, env.REALTIME_RECOVERY_WINDOW_MS);
    server.adapter(
      createRealtimeStreamsAdapter(redis, {
        names,
        maxLen: env.REALTIME_STREAM_MAX_LEN,
        monitor,
        recovery,
        sessions,
        watched,
        onSessionNotSaved: (err) =>
          this.logger.warn(
            `a disconnected client's session was not saved (${err.message}): it will not recover`,
          ),
        onWatchNotSaved: (err) =>
          this.logger.warn(`a joined meter room was not marked as watched yet (${err.message})`),
      }),
    );
    // The meters this instance's sockets watch, marked again (also at once after Redis came back: it may
    // have lost them), so that workers keep publishing their reading updates.
    const renew = () => {
      if (redis.status !== 'ready') return;
      watched
        .renew(watchedMeterIds(server.of(REALTIME_NAMESPACE).adapter.rooms.keys()))
        .catch((err: Error) => this.logger.warn(`marking watched meters: ${err.message}`));
    };
    redis.on('ready', renew);
    this.renewTimer ??= setInterval(renew, WATCH_RENEW_EVERY_MS).unref();
    this.trimTimer ??= setInterval(() => {
      if (redis.status !== 'ready') return;
      sessions
        .trim(TRIM_MARGIN_MS)
        .catch((err: Error) => this.logger.warn(`trimming the live event stream: ${err.message}`));
    }, TRIM_EVERY_MS).unref();
    // Synchronous with the connection: no live event can reach the socket before what it missed.
    server.on('connection', (socket: { id: string; recovered: boolean }) => {
      const handover = recovery.handOver(socket.id);
      if (!handover) {
        // Recovered, but what it missed was forgotten meanwhile (its handshake took longer than allowed).
        if (socket.recovered) monitor.recovered(0, true);
        return;
      }
      for (const [event, ...args] of handover.packets)
        server.local.to(socket.id).emit(event as string, ...args);
      monitor.recovered(handover.packets.length, handover.gap);
    });
    this.logger.log(
      `Socket.IO live events from Redis stream ${names.stream} (recovery window ` +
        `${env.REALTIME_RECOVERY_WINDOW_MS} ms)`,
    );
    return server;
  }

  override async close(server: IoServer): Promise<void> {
    clearInterval(this.trimTimer);
    clearInterval(this.renewTimer);
    this.trimTimer = this.renewTimer = undefined;
    await super.close(server);
    const redis = this.redis;
    this.redis = undefined;
    if (!redis) return;
    redis.removeAllListeners('close');
    await redis.quit().catch(() => redis.disconnect());
  }

  private connect(url: string, monitor: RealtimeDeliveryMonitor): Redis {
    let lastError = '';
    const redis = new Redis(url, { connectionName: 'hes-realtime', maxRetriesPerRequest: 2 });
    redis.on('error', (err: Error) => {
      if (err.message !== lastError) this.logger.warn(`Redis (realtime): ${err.message}`);
      lastError = err.message;
    });
    // The stream readers are this client's duplicates, on the same server: its state stands for theirs.
    redis.on('close', () => monitor.readerDown('connection closed'));
    redis.on('ready', () => {
      lastError = '';
      monitor.readerUp();
    });
    return redis;
  }
}
