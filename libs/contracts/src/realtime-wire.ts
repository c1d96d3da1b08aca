/**
 * How live events travel on Redis from a MeterEventsPublisher (@app/realtime-publisher: a worker's, or an
 * api instance's for operators' status changes) to every api instance's Socket.IO Redis adapter. The
 * message is the adapter's own broadcast message `[uid, packet, opts]` (what `@socket.io/redis-emitter`
 * sends), JSON-encoded instead of msgpack so that both ends need no extra dependency and the envelope can
 * be read without decoding the payload.
 *
 * The `uid` slot carries a lightweight envelope `<publisherId>:<seq>`: every publisher numbers its
 * messages 1, 2, 3… on one Redis connection, so a gateway that sees a jump knows exactly how many
 * messages Redis pub/sub lost on the way to it (pub/sub is at-most-once), and a repeated or older number
 * is a duplicate it must not deliver. Publishers also send a heartbeat carrying their latest number on a
 * room no client can join, so a loss at the end of a burst is noticed within one heartbeat.
 *
 * Redis pub/sub channels are global to the server (not per logical database), so the channel key names
 * the database: two deployments (or two test runs) sharing one Redis never see each other's events.
 */

/** Pseudo-room of publisher heartbeats; the gateway refuses it in join-room. */
export const REALTIME_HEARTBEAT_ROOM = 'hes-publisher-heartbeat';

/** Publishers send a heartbeat this often; a gateway forgets a publisher silent for much longer. */
export const REALTIME_HEARTBEAT_INTERVAL_MS = 5000;

/** Socket.IO's EVENT packet type (socket.io-parser PacketType.EVENT). */
const SOCKET_IO_EVENT_PACKET = 2;
const DEFAULT_NAMESPACE = '/';

/** Prefix of the Redis channels of live events: `<queuePrefix>:realtime:db<N>`. */
export function realtimeChannelKey(queuePrefix: string, redisUrl: string): string {
  let db = '0';
  try {
    const url = new URL(redisUrl);
    db = url.pathname.replace(/^\//, '') || url.searchParams.get('db') || '0';
  } catch {
    // validated at boot (libs/config); fall back to db 0 rather than fail here
  }
  return `${queuePrefix}:realtime:db${db}`;
}

/**
 * The adapter's channel for a broadcast: one room gets its own channel (instances without a socket in
 * that room skip it without decoding); several rooms go to the namespace channel.
 */
export function realtimeBroadcastChannel(channelKey: string, rooms: readonly string[]): string {
  const base = `${channelKey}#${DEFAULT_NAMESPACE}#`;
  return rooms.length === 1 ? `${base}${rooms[0]}#` : base;
}

export function realtimeEnvelopeUid(publisherId: string, seq: number): string {
  return `${publisherId}:${seq}`;
}

/** One message for the union of `rooms`: a socket in several of them receives it once. */
export function encodeRealtimeBroadcast(
  uid: string,
  event: string,
  payload: unknown,
  rooms: readonly string[],
): string {
  const packet = { type: SOCKET_IO_EVENT_PACKET, data: [event, payload], nsp: DEFAULT_NAMESPACE };
  return JSON.stringify([uid, packet, { rooms, except: [], flags: {} }]);
}

export function encodeRealtimeHeartbeat(uid: string): string {
  return JSON.stringify([uid, null, { rooms: [REALTIME_HEARTBEAT_ROOM], except: [], flags: {} }]);
}

export interface RealtimeEnvelope {
  publisherId: string;
  seq: number;
}

const QUOTE = 0x22;
const OPEN_BRACKET = 0x5b;
const MAX_UID_LENGTH = 96;

/**
 * Reads the envelope from the first bytes of a message (`["<publisherId>:<seq>",…`) without parsing the
 * rest; null for messages that are not ours (e.g. the adapter's own inter-instance traffic).
 */
export function readRealtimeEnvelope(message: Buffer | string): RealtimeEnvelope | null {
  const buf = typeof message === 'string' ? Buffer.from(message.slice(0, MAX_UID_LENGTH + 3)) : message;
  if (buf.length < 4 || buf[0] !== OPEN_BRACKET || buf[1] !== QUOTE) return null;
  const end = buf.indexOf(QUOTE, 2);
  if (end < 0 || end - 2 > MAX_UID_LENGTH) return null;
  const uid = buf.toString('latin1', 2, end);
  const sep = uid.lastIndexOf(':');
  if (sep <= 0) return null;
  const seq = Number(uid.slice(sep + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return null;
  return { publisherId: uid.slice(0, sep), seq };
}

/** The parser both ends give the Socket.IO Redis adapter / publisher (JSON instead of msgpack). */
export const realtimeJsonParser = {
  encode: (value: unknown): string => JSON.stringify(value),
  decode: (message: Buffer | string): unknown =>
    JSON.parse(typeof message === 'string' ? message : message.toString('utf8')),
};
