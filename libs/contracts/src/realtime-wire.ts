/**
 * How live events travel on Redis from a MeterEventsPublisher (@app/realtime-publisher: a worker's, or an
 * api instance's for operators' status changes) to every api instance: each event is one entry appended to
 * the Redis stream of `@socket.io/redis-streams-adapter`, written exactly as that adapter writes a
 * broadcast of its own. Every api instance's adapter reads the stream (XREAD, in order) and delivers each
 * entry to its local sockets in the target rooms; the entry id is the offset a reconnecting client resumes
 * from (Socket.IO connection state recovery). This file is the one place that knows the adapter's format;
 * `realtime-wire.spec.ts` checks it against the real adapter in both directions, so a library change fails
 * there.
 *
 * Entry fields (all strings): `uid` (the sender; ours is `<publisherId>:<seq>`), `nsp`, `type` (the
 * ClusterAdapter message type, `3` = BROADCAST) and `data` (JSON `{ packet, opts }`; the adapter's other
 * encoding, base64 msgpack for binary payloads, is never used: every instance runs with `onlyPlaintext`).
 *
 * Each publisher numbers its entries 1, 2, 3…: a resent XADD whose first reply was lost (Redis dropped the
 * connection) shows up as a repeated number and is delivered once; a jump shows entries that never reached
 * an instance (e.g. trimmed before it read them), counted as lost.
 */

/** The namespace every event goes to. */
export const REALTIME_NAMESPACE = '/';
/** socket.io-adapter ClusterAdapter MessageType.BROADCAST, as the adapter writes it in the `type` field. */
const CLUSTER_BROADCAST_TYPE = '3';
/** socket.io-parser PacketType.EVENT. */
const SOCKET_IO_EVENT_PACKET = 2;

export interface RealtimeRedisNames {
  /** The stream (a key, so private to the Redis logical database). */
  stream: string;
  /** Prefix of the adapter's pub/sub channels (requests between instances); pub/sub is global to the server, so it names the database. */
  channelPrefix: string;
  /** Prefix of the keys holding disconnected sockets' sessions for connection state recovery. */
  sessionKeyPrefix: string;
  /** Sorted set of the meters someone watches live: member meter id, score epoch ms it is watched until. */
  watchedMeters: string;
  /** Channel announcing meters newly watched (JSON `{ until, meterIds }`). */
  watchedMetersChannel: string;
}

/**
 * The Redis names of one deployment's live events. Two deployments (or two test runs) sharing one Redis
 * server never see each other's events: keys are per logical database, channels name it.
 */
export function realtimeRedisNames(queuePrefix: string, redisUrl: string): RealtimeRedisNames {
  let db = '0';
  try {
    const url = new URL(redisUrl);
    db = url.pathname.replace(/^\//, '') || url.searchParams.get('db') || '0';
  } catch {
    // validated at boot (libs/config); fall back to db 0 rather than fail here
  }
  const base = `${queuePrefix}:realtime`;
  const channelPrefix = `${base}:db${db}`;
  return {
    stream: `${base}:stream`,
    channelPrefix,
    sessionKeyPrefix: `${base}:session:`,
    watchedMeters: `${base}:watched-meters`,
    watchedMetersChannel: `${channelPrefix}:watched-meters`,
  };
}

/** One stream entry, field by field, as the adapter writes and reads it. */
export interface RealtimeStreamEntry {
  uid: string;
  nsp: string;
  type: string;
  data?: string;
}

export function realtimeEnvelopeUid(publisherId: string, seq: number): string {
  return `${publisherId}:${seq}`;
}

/** The entry of one event for the union of `rooms`: a socket in several of them receives it once. */
export function encodeRealtimeEntry(
  uid: string,
  event: string,
  payload: unknown,
  rooms: readonly string[],
): RealtimeStreamEntry {
  const packet = { type: SOCKET_IO_EVENT_PACKET, data: [event, payload] };
  return {
    uid,
    nsp: REALTIME_NAMESPACE,
    type: CLUSTER_BROADCAST_TYPE,
    data: JSON.stringify({ packet, opts: { rooms, except: [], flags: {} } }),
  };
}

/** The XADD field list of an entry (`field value field value…`). */
export function realtimeEntryFields(entry: RealtimeStreamEntry): string[] {
  const fields = ['uid', entry.uid, 'nsp', entry.nsp, 'type', entry.type];
  if (entry.data !== undefined) fields.push('data', entry.data);
  return fields;
}

/** An entry as XRANGE / XREAD return it (`field value field value…`) back as fields. */
export function realtimeEntryFromFields(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}

/** An entry decoded as the adapter does (`RedisStreamsAdapter.decode`), JSON only. */
export interface RealtimeClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: unknown;
}

/** Decodes an entry as the adapter would; throws on anything the adapter could not deliver. */
export function decodeRealtimeEntry(
  entry: Partial<Record<keyof RealtimeStreamEntry, unknown>>,
): RealtimeClusterMessage {
  const { uid, nsp, type, data } = entry;
  if (typeof uid !== 'string' || typeof nsp !== 'string' || typeof type !== 'string') {
    throw new Error('stream entry without uid, nsp or type');
  }
  const message: RealtimeClusterMessage = { uid, nsp, type: Number.parseInt(type, 10) };
  if (!Number.isSafeInteger(message.type)) throw new Error(`stream entry of unknown type "${type}"`);
  if (data !== undefined) {
    if (typeof data !== 'string' || !data.startsWith('{')) throw new Error('stream entry data is not JSON');
    message.data = JSON.parse(data);
  }
  if (message.type === Number(CLUSTER_BROADCAST_TYPE)) {
    const body = message.data as { packet?: { data?: unknown }; opts?: { rooms?: unknown } } | undefined;
    if (!Array.isArray(body?.packet?.data) || !Array.isArray(body?.opts?.rooms)) {
      throw new Error('broadcast entry without packet data or rooms');
    }
  }
  return message;
}

/** A broadcast of one event, read back from an entry (tests and tools). */
export interface RealtimeBroadcast {
  uid: string;
  event: string;
  payload: unknown;
  rooms: string[];
}

export function readRealtimeBroadcast(
  entry: Partial<Record<keyof RealtimeStreamEntry, unknown>>,
): RealtimeBroadcast | null {
  const message = decodeRealtimeEntry(entry);
  if (message.type !== Number(CLUSTER_BROADCAST_TYPE)) return null;
  const { packet, opts } = message.data as {
    packet: { type: number; data: unknown[] };
    opts: { rooms: string[] };
  };
  if (packet.type !== SOCKET_IO_EVENT_PACKET || typeof packet.data[0] !== 'string') return null;
  return { uid: message.uid, event: packet.data[0], payload: packet.data[1], rooms: opts.rooms };
}

export interface RealtimeEnvelope {
  publisherId: string;
  seq: number;
}

const MAX_UID_LENGTH = 96;

/** The publisher and number in an entry's uid; null for entries that are not ours (e.g. an adapter's own). */
export function readRealtimeEnvelope(uid: unknown): RealtimeEnvelope | null {
  if (typeof uid !== 'string' || uid.length > MAX_UID_LENGTH) return null;
  const sep = uid.lastIndexOf(':');
  if (sep <= 0) return null;
  const seqText = uid.slice(sep + 1);
  if (!/^[1-9][0-9]*$/.test(seqText)) return null;
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq)) return null;
  return { publisherId: uid.slice(0, sep), seq };
}

/** Stream entry ids (`<ms>-<seq>`) in stream order: negative, zero or positive like a comparator. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return Number(am) - Number(bm) || Number(as ?? 0) - Number(bs ?? 0);
}
