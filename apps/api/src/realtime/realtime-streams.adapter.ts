import {
  decodeRealtimeEntry,
  readRealtimeEnvelope,
  RealtimeClusterMessage,
  RealtimeRedisNames,
  RealtimeStreamEntry,
} from '@app/contracts';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import Redis, { type RedisOptions } from 'ioredis';
import type { Adapter, Session } from 'socket.io-adapter';
import type { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';
import type { RealtimeRecovery } from './realtime-recovery';

/** Entries per XREAD (the adapter's default): ~17 round trips a second at 100,000 meters every minute. */
const READ_COUNT = 100;
/**
 * How long one XREAD waits for new entries. The reader notices a close only between two reads, so this
 * also bounds how long it keeps the process alive on shutdown.
 */
const READ_BLOCK_MS = 1_000;
/** A reconnecting client waits at most this long for its session; past it, it connects as a new one. */
const RESTORE_TIMEOUT_MS = 3_000;
/** ClusterAdapter MessageType.BROADCAST / socket.io-parser PacketType.EVENT. */
const BROADCAST = 3;
const EVENT_PACKET = 2;

/**
 * The adapter's Redis client. The adapter persists a disconnected socket's session with a SET nobody
 * awaits: with Redis away that rejection would be unhandled, which ends a Node process. Here it is handled
 * (the session is lost: that client will connect as a new one).
 */
export class RealtimeAdapterRedis extends Redis {
  constructor(
    url: string,
    options: RedisOptions,
    private readonly onSessionNotSaved: (err: Error) => void,
  ) {
    super(url, options);
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const [command] = args;
    if (command.name === 'set') command.promise.catch((err: Error) => this.onSessionNotSaved(err));
    return super.sendCommand(...args);
  }
}

/** What the stock adapter exposes (public in its typings, except onMessage: protected) and is wrapped here. */
interface StreamsAdapterParts {
  onRawMessage(raw: RealtimeStreamEntry, offset: string): void;
  onMessage(message: RealtimeClusterMessage, offset?: string): void;
  persistSession(session: Omit<Session, 'missedPackets'>): void;
  restoreSession(pid: string, offset: string): Promise<Session>;
}

export interface RealtimeStreamsAdapterOptions {
  names: RealtimeRedisNames;
  maxLen: number;
  monitor: RealtimeDeliveryMonitor;
  recovery: RealtimeRecovery;
}

/**
 * `@socket.io/redis-streams-adapter` as this api uses it: every instance reads the one stream the
 * publishers append to (wire format in @app/contracts realtime-wire) and delivers each entry to its local
 * sockets; connection state recovery restores a session written by any instance. Around the stock adapter:
 * - each entry is decoded here (JSON only) and shown to the delivery monitor first: duplicates stop here,
 *   gaps are counted, and an entry that cannot be delivered (anyone with Redis access can append) is
 *   counted instead of throwing inside the reader, which would stop it on that entry for good;
 * - a restored session's missed events are held by RealtimeRecovery until the handshake check passed;
 * - a session is persisted without its data (the user and token): the handshake check runs again.
 */
export function createRealtimeStreamsAdapter(
  redis: RealtimeAdapterRedis,
  { names, maxLen, monitor, recovery }: RealtimeStreamsAdapterOptions,
): (nsp: unknown) => Adapter {
  const factory = createAdapter(redis, {
    streamName: names.stream,
    channelPrefix: names.channelPrefix,
    sessionKeyPrefix: names.sessionKeyPrefix,
    maxLen,
    readCount: READ_COUNT,
    blockTimeInMs: READ_BLOCK_MS,
    onlyPlaintext: true,
  });
  // Socket.IO calls this with `new`, so it must be a function, not an arrow.
  return function realtimeStreamsAdapter(nsp: unknown) {
    const adapter = factory(nsp);
    const parts = adapter as unknown as StreamsAdapterParts;
    const onMessage = parts.onMessage.bind(adapter);
    const persistSession = parts.persistSession.bind(adapter);
    const restoreSession = parts.restoreSession.bind(adapter);

    parts.onRawMessage = (raw, offset) => {
      monitor.read(offset);
      recovery.read(offset);
      let message: RealtimeClusterMessage;
      try {
        message = decodeRealtimeEntry(raw);
      } catch (err) {
        monitor.malformed(err);
        return;
      }
      if (!monitor.accept(readRealtimeEnvelope(message.uid))) {
        recovery.duplicate(offset);
        return;
      }
      try {
        onMessage(message, offset);
      } catch (err) {
        monitor.malformed(err);
        return;
      }
      if (message.type !== BROADCAST) return;
      const { packet, opts } = message.data as {
        packet: { type: number; id?: number; data: unknown[] };
        opts: { rooms: string[]; except?: string[] };
      };
      if (packet.type === EVENT_PACKET && packet.id === undefined) {
        recovery.delivered(offset, packet.data, opts.rooms, opts.except ?? []);
      }
    };

    parts.persistSession = (session) => persistSession({ ...session, data: {} });

    parts.restoreSession = async (pid, offset) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('session restore timed out')), RESTORE_TIMEOUT_MS);
      });
      try {
        const session = await Promise.race([restoreSession(pid, offset), timedOut]);
        recovery.hold(session, offset);
        return session;
      } finally {
        clearTimeout(timer);
      }
    };
    return adapter;
  };
}
