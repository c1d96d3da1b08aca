import {
  decodeRealtimeEntry,
  readRealtimeEnvelope,
  RealtimeClusterMessage,
  RealtimeRedisNames,
  RealtimeStreamEntry,
} from '@app/contracts';
import { watchedMeterIds, type WatchedMeterRegistry } from '@app/realtime-publisher';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type Redis from 'ioredis';
import type { Adapter, Session } from 'socket.io-adapter';
import type { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';
import type { RealtimeRecovery } from './realtime-recovery';
import type { RealtimeSessions } from './realtime-sessions';

/** Entries per XREAD (the adapter's default): ~17 round trips a second at 100,000 meters every minute. */
const READ_COUNT = 100;
/**
 * How long one XREAD waits for new entries. The reader notices a close only between two reads, so this
 * also bounds how long it keeps the process alive on shutdown.
 */
const READ_BLOCK_MS = 1_000;
/**
 * A reconnecting client waits at most this long for its session (Redis away, or a very long read-back);
 * past it, it connects as a new one.
 */
const RESTORE_TIMEOUT_MS = 5_000;
/** ClusterAdapter MessageType.BROADCAST / socket.io-parser PacketType.EVENT. */
const BROADCAST = 3;
const EVENT_PACKET = 2;

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
  sessions: RealtimeSessions;
  watched: WatchedMeterRegistry;
  /** A disconnected client's session could not be stored (Redis away): it will not recover. */
  onSessionNotSaved(err: Error): void;
  /** A joined meter could not be marked as watched (Redis away): the next renewal marks it. */
  onWatchNotSaved(err: Error): void;
}

/**
 * `@socket.io/redis-streams-adapter` as this api uses it: every instance reads the one stream the
 * publishers append to (wire format in @app/contracts realtime-wire) and delivers each entry to its local
 * sockets; connection state recovery restores a session written by any instance. Around the stock adapter:
 * - each entry is decoded here (JSON only) and shown to the delivery monitor first: duplicates stop here,
 *   gaps are counted, and an entry that cannot be delivered (anyone with Redis access can append) is
 *   counted instead of throwing inside the reader, which would stop it on that entry for good;
 * - sessions are stored and read back by RealtimeSessions (without the user and token; in pages);
 * - a restored session's missed events are held by RealtimeRecovery until the handshake check passed;
 * - a meter room joined is marked as watched (WatchedMeterRegistry) before the join resolves, so the
 *   workers publish its reading updates by the time join-room is acknowledged.
 */
export function createRealtimeStreamsAdapter(
  redis: Redis,
  {
    names,
    maxLen,
    monitor,
    recovery,
    sessions,
    watched,
    onSessionNotSaved,
    onWatchNotSaved,
  }: RealtimeStreamsAdapterOptions,
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
    const addAll = adapter.addAll.bind(adapter);

    // socket.join() returns this promise: join-room's acknowledgement waits for the mark. The rooms
    // themselves are added synchronously, as the stock adapter does (before the first await).
    adapter.addAll = async (id, rooms) => {
      const meterIds = watchedMeterIds([...rooms].filter((room) => !adapter.rooms.has(room)));
      await addAll(id, rooms);
      if (meterIds.length > 0) await watched.watch(meterIds).catch(onWatchNotSaved);
    };

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

    parts.persistSession = (session) => {
      sessions.persist(session).catch(onSessionNotSaved);
    };

    parts.restoreSession = async (pid, offset) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('session restore timed out')), RESTORE_TIMEOUT_MS);
      });
      try {
        const session = await Promise.race([sessions.restore(pid, offset), timedOut]);
        recovery.hold(session, offset);
        return session;
      } finally {
        clearTimeout(timer);
      }
    };
    return adapter;
  };
}
