import { realtimeChannelKey, realtimeJsonParser } from '@app/contracts';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { IoAdapter } from '@nestjs/platform-socket.io';
import Redis from 'ioredis';
import { createMonitoredRedisAdapter } from './monitored-redis.adapter';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';

/**
 * Socket.IO on the api's HTTP port with the Redis adapter: every api instance subscribes to the live
 * events the workers publish and delivers them to its own clients. Install with
 * `app.useWebSocketAdapter(new RealtimeIoAdapter(app))` before `app.listen`.
 */
/** Nest's platform-socket.io carries its own copy of socket.io; use its types at this boundary. */
type IoServer = ReturnType<IoAdapter['createIOServer']>;
type IoServerOptions = Parameters<IoAdapter['createIOServer']>[1];

export class RealtimeIoAdapter extends IoAdapter {
  private readonly logger = new Logger('RealtimeIoAdapter');
  private pubClient?: Redis;
  private subClient?: Redis;

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override createIOServer(port: number, options?: IoServerOptions): IoServer {
    const config = this.app.get(ConfigService);
    const monitor = this.app.get(RealtimeDeliveryMonitor, { strict: false });
    const cors = corsOrigins(config.get<string>('CORS_ORIGINS'));
    const server = super.createIOServer(port, {
      ...options,
      ...(cors ? { cors: { origin: cors, credentials: true } } : {}),
    });

    const redisUrl = config.getOrThrow<string>('REDIS_URL');
    const key = realtimeChannelKey(config.get<string>('QUEUE_PREFIX') ?? 'hes', redisUrl);
    if (!this.pubClient || !this.subClient) {
      this.pubClient = new Redis(redisUrl, { connectionName: 'hes-realtime-pub', maxRetriesPerRequest: 2 });
      this.subClient = new Redis(redisUrl, { connectionName: 'hes-realtime-sub' });
      this.pubClient.on('error', (err: Error) => this.logger.warn(`Redis (realtime pub): ${err.message}`));
      let lastSubError = '';
      this.subClient.on('error', (err: Error) => {
        if (err.message !== lastSubError) this.logger.warn(`Redis (realtime sub): ${err.message}`);
        lastSubError = err.message;
      });
      // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is lost (counted).
      this.subClient.on('close', () => monitor.subscriberDown('connection closed'));
      this.subClient.on('ready', () => {
        lastSubError = '';
        monitor.subscriberUp();
      });
    }
    server.adapter(
      createMonitoredRedisAdapter(
        this.pubClient,
        this.subClient,
        { key, parser: realtimeJsonParser },
        monitor,
      ),
    );
    this.logger.log(`Socket.IO live events on Redis channels ${key}#/#*`);
    return server;
  }

  override async close(server: IoServer): Promise<void> {
    await super.close(server);
    const clients = [this.pubClient, this.subClient].filter((c): c is Redis => !!c);
    this.pubClient = this.subClient = undefined;
    for (const c of clients) c.removeAllListeners('close');
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/** Same reading of CORS_ORIGINS as the HTTP side (bootstrap): a comma list, `*` for any origin. */
function corsOrigins(value: string | undefined): string[] | boolean | undefined {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) return undefined;
  return list.includes('*') ? true : list;
}
