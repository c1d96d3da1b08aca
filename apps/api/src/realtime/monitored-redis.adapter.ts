import { readRealtimeEnvelope, REALTIME_HEARTBEAT_ROOM, realtimeBroadcastChannel } from '@app/contracts';
import { RedisAdapter, RedisAdapterOptions } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Adapter } from 'socket.io-adapter';
import type { Namespace } from 'socket.io';
import type { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';

/** RedisAdapter with its message hook visible to TypeScript (it is `private` in the typings only). */
type RedisAdapterWithHook = new (
  nsp: Namespace,
  pubClient: Redis,
  subClient: Redis,
  opts?: Partial<RedisAdapterOptions>,
) => Adapter & { onmessage(pattern: unknown, channel: Buffer | string, message: Buffer): void };

const RedisAdapterBase = RedisAdapter as unknown as RedisAdapterWithHook;

/**
 * The stock Socket.IO Redis adapter, with every incoming message shown to the delivery monitor first:
 * heartbeats and duplicates stop here, gaps are counted, and a malformed message (anyone with Redis
 * access can publish on these channels) is counted instead of throwing inside the Redis client.
 */
class MonitoredRedisAdapter extends RedisAdapterBase {
  private readonly namespaceChannel: string;
  private readonly heartbeatChannel: string;

  constructor(
    nsp: Namespace,
    pubClient: Redis,
    subClient: Redis,
    opts: Partial<RedisAdapterOptions> & { key: string },
    private readonly monitor: RealtimeDeliveryMonitor,
  ) {
    super(nsp, pubClient, subClient, opts);
    this.namespaceChannel = `${opts.key}#${nsp.name}#`;
    this.heartbeatChannel = realtimeBroadcastChannel(opts.key, [REALTIME_HEARTBEAT_ROOM]);
  }

  override onmessage(pattern: unknown, channel: Buffer | string, message: Buffer): void {
    try {
      const name = channel.toString();
      if (name.startsWith(this.namespaceChannel)) {
        const heartbeat = name === this.heartbeatChannel;
        if (!this.monitor.accept(readRealtimeEnvelope(message), heartbeat)) return;
      }
      super.onmessage(pattern, channel, message);
    } catch (err) {
      this.monitor.malformed(err);
    }
  }
}

export function createMonitoredRedisAdapter(
  pubClient: Redis,
  subClient: Redis,
  opts: Partial<RedisAdapterOptions> & { key: string },
  monitor: RealtimeDeliveryMonitor,
): (nsp: Namespace) => Adapter {
  // Socket.IO calls this with `new`, so it must be a function, not an arrow.
  return function monitoredRedisAdapter(nsp: Namespace) {
    return new MonitoredRedisAdapter(nsp, pubClient, subClient, opts, monitor);
  };
}
