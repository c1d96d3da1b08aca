import {
  decodeRealtimeEntry,
  realtimeEntryFromFields,
  RealtimeRedisNames,
  REALTIME_NAMESPACE,
} from '@app/contracts';
import type Redis from 'ioredis';
import type { Session } from 'socket.io-adapter';

/** Stream entries read per round trip while collecting a session's missed events. */
const RESTORE_PAGE = 1_000;
/**
 * Bounds of one restore: entries read (4 × the default stream bound) and events handed back. Past them the
 * client connects as a new session (it reads the current state over REST) rather than hold the instance.
 */
const RESTORE_MAX_PAGES = 1_000;
const RESTORE_MAX_EVENTS = 50_000;
/** ClusterAdapter MessageType.BROADCAST. */
const BROADCAST = 3;
const STREAM_ID = /^[0-9]+-[0-9]+$/;

export type SessionToPersist = Omit<Session, 'missedPackets'>;

/**
 * Disconnected sockets' sessions in Redis, and the stream read back for them: the connection state
 * recovery half of the streams adapter, replaced because the stock one (a) keeps the session's data (our
 * user and token) in Redis, (b) fires its SET without handling a failure (with Redis away: an unhandled
 * rejection, which ends the process), and (c) reads everything after the client's offset in one XRANGE
 * (at fleet scale, minutes of all meters' events in one reply) and decodes every entry. Here the session is
 * stored without its data (the handshake check runs again), failures are the caller's, and the stream is
 * read in pages, decoding only entries that name one of the session's rooms.
 */
export class RealtimeSessions {
  constructor(
    private readonly redis: Redis,
    private readonly names: RealtimeRedisNames,
    private readonly windowMs: number,
  ) {}

  async persist(session: SessionToPersist): Promise<void> {
    const stored = { sid: session.sid, pid: session.pid, rooms: session.rooms };
    await this.redis.set(this.key(session.pid), JSON.stringify(stored), 'PX', this.windowMs);
  }

  /** The session and the events it missed after `offset` (packet data, each ending with its entry id). */
  async restore(pid: string, offset: string): Promise<Session> {
    if (!STREAM_ID.test(offset)) throw new Error('invalid offset');
    const results = await this.redis
      .multi()
      .get(this.key(pid))
      .del(this.key(pid))
      .xrange(this.names.stream, offset, offset)
      .exec();
    const raw = results?.[0]?.[1] as string | null | undefined;
    const offsetStillThere = (results?.[2]?.[1] as unknown[] | undefined)?.length;
    // The session expired (reconnected too late), or the stream no longer reaches back to the offset.
    if (!raw || !offsetStillThere) throw new Error('session or offset not found');
    const stored = JSON.parse(raw) as SessionToPersist;
    const rooms = stored.rooms;
    const roomNeedles = rooms.map((room) => JSON.stringify(room));
    const missedPackets: unknown[][] = [];
    let from = offset;
    for (let pages = 1; ; pages++) {
      if (pages > RESTORE_MAX_PAGES) throw new Error('too many events to read back');
      const page = await this.redis.xrange(this.names.stream, nextId(from), '+', 'COUNT', RESTORE_PAGE);
      for (const [id, flat] of page) {
        from = id;
        const fields = realtimeEntryFromFields(flat);
        // Cheap test first: an entry for none of the session's rooms does not even contain their names.
        const data = fields.data ?? '';
        if (!data.includes('"rooms":[]') && !roomNeedles.some((needle) => data.includes(needle))) continue;
        let message;
        try {
          message = decodeRealtimeEntry(fields);
        } catch {
          continue; // counted by the live reader
        }
        if (message.nsp !== REALTIME_NAMESPACE || message.type !== BROADCAST) continue;
        const { packet, opts } = message.data as {
          packet: { type: number; id?: number; data: unknown[] };
          opts: { rooms: string[]; except?: string[] };
        };
        if (packet.type !== 2 || packet.id !== undefined) continue;
        if (!addressedTo(rooms, opts.rooms, opts.except ?? [])) continue;
        missedPackets.push([...packet.data, id]);
        if (missedPackets.length > RESTORE_MAX_EVENTS) throw new Error('too many missed events');
      }
      if (page.length < RESTORE_PAGE) break;
    }
    return { ...stored, data: {}, missedPackets };
  }

  /** Drops entries older than any session can need (the window plus `marginMs`). */
  async trim(marginMs: number, now = Date.now()): Promise<void> {
    await this.redis.xtrim(this.names.stream, 'MINID', '~', `${now - this.windowMs - marginMs}-0`);
  }

  private key(pid: string): string {
    return `${this.names.sessionKeyPrefix}${pid}`;
  }
}

/** The id right after `id` (XRANGE bounds are inclusive). */
function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}

/** The adapter's own rule (shouldIncludePacket): in one of the rooms (or no rooms: everyone), not excepted. */
export function addressedTo(
  sessionRooms: readonly string[],
  rooms: readonly string[],
  except: readonly string[],
): boolean {
  const included = rooms.length === 0 || sessionRooms.some((room) => rooms.includes(room));
  return included && sessionRooms.every((room) => !except.includes(room));
}
