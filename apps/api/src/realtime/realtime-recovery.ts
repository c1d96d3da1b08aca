import { compareStreamIds } from '@app/contracts';
import { addressedTo } from './realtime-sessions';

/**
 * Recently delivered events kept to hand a recovering client what reached this instance between its
 * session being restored (the stream read up to then) and the client being connected (after the handshake
 * check): a database round trip, milliseconds to a second. 5,000 is ~3 s at 100,000 meters every minute.
 */
export const RECOVERY_HANDOVER_EVENTS = 5_000;
/** Restored sessions whose handshake never completed are forgotten after this long (connectTimeout is 10 s). */
const PENDING_TTL_MS = 30_000;
const MAX_PENDING = 10_000;
const MAX_REMEMBERED_DUPLICATES = 1_000;

/** What Socket.IO's connection state recovery restores (socket.io-adapter `Session`). */
export interface RestoredSession {
  sid: string;
  rooms: string[];
  /** Each packet's data: `[event, ...args, offset]`. */
  missedPackets: unknown[][];
}

interface Delivered {
  offset: string;
  data: unknown[];
  rooms: readonly string[];
  except: readonly string[];
}

interface Pending {
  missed: unknown[][];
  rooms: string[];
  /** The stream was read up to here (at least) for this session. */
  coveredUpTo: string;
  heldAt: number;
}

export interface Handover {
  /** Packet data to send, in stream order, each ending with its offset. */
  packets: unknown[][];
  /** True when events between the restore and the connection may be missing (buffer too short). */
  gap: boolean;
}

/**
 * Connection state recovery made exact and safe across api instances. The adapter's restoreSession reads
 * the stream after the client's offset (its missed events) and Socket.IO would send them at once, before
 * the handshake check runs: they are held instead (`hold`) and handed over only once the socket is
 * connected (`handOver`, synchronously in the 'connection' event, so no live event can come between).
 * At that moment this instance's reader has delivered the stream up to `lastOffset`: held events beyond it
 * are left to live delivery (the socket is in its rooms now), and events read between the restore and now
 * are taken from a small buffer of recent deliveries. The client gets every event once, in stream order.
 */
export class RealtimeRecovery {
  private readonly recent: (Delivered | undefined)[];
  private next = 0;
  /** Newest offset pushed out of `recent`: what came after it is still there. */
  private evictedUpTo: string | null = null;
  private lastOffset: string | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Offsets of duplicate entries (a publisher's retried append) that live delivery skipped. */
  private readonly duplicates = new Set<string>();

  constructor(private readonly capacity = RECOVERY_HANDOVER_EVENTS) {
    this.recent = new Array<Delivered | undefined>(capacity);
  }

  /** Every stream entry this instance's reader handled, in order. */
  read(offset: string): void {
    this.lastOffset = offset;
  }

  /** A broadcast this instance delivered live: `data` is its packet data, ending with its offset. */
  delivered(offset: string, data: unknown[], rooms: readonly string[], except: readonly string[]): void {
    const old = this.recent[this.next];
    if (old) this.evictedUpTo = old.offset;
    this.recent[this.next] = { offset, data, rooms, except };
    this.next = (this.next + 1) % this.capacity;
  }

  duplicate(offset: string): void {
    if (this.duplicates.size >= MAX_REMEMBERED_DUPLICATES) {
      this.duplicates.delete(this.duplicates.values().next().value as string);
    }
    this.duplicates.add(offset);
  }

  /** Takes the missed packets out of a session the adapter restored (from `offset`), to hand over later. */
  hold(session: RestoredSession, offset: string, now = Date.now()): void {
    this.sweep(now);
    let coveredUpTo = offset;
    for (const data of session.missedPackets) {
      const at = offsetOf(data);
      if (at && compareStreamIds(at, coveredUpTo) > 0) coveredUpTo = at;
    }
    this.pending.set(session.sid, {
      missed: session.missedPackets,
      rooms: session.rooms,
      coveredUpTo,
      heldAt: now,
    });
    session.missedPackets = [];
  }

  /** For a socket now connected: what it missed, or null when it did not recover a session. */
  handOver(sid: string): Handover | null {
    const held = this.pending.get(sid);
    if (!held) return null;
    this.pending.delete(sid);
    const upTo = this.lastOffset;
    const packets = held.missed.filter((data) => {
      const at = offsetOf(data);
      if (!at || this.duplicates.has(at)) return false;
      // Beyond what the reader delivered so far: it comes live, now that the socket is in its rooms.
      return upTo === null || compareStreamIds(at, upTo) <= 0;
    });
    let gap = false;
    if (upTo !== null && compareStreamIds(upTo, held.coveredUpTo) > 0) {
      gap = this.evictedUpTo !== null && compareStreamIds(this.evictedUpTo, held.coveredUpTo) > 0;
      for (let i = 0; i < this.capacity; i++) {
        const entry = this.recent[(this.next + i) % this.capacity];
        if (!entry || compareStreamIds(entry.offset, held.coveredUpTo) <= 0) continue;
        if (compareStreamIds(entry.offset, upTo) > 0) break;
        if (addressedTo(held.rooms, entry.rooms, entry.except)) packets.push(entry.data);
      }
    }
    return { packets, gap };
  }

  private sweep(now: number): void {
    for (const [sid, held] of this.pending) {
      if (now - held.heldAt <= PENDING_TTL_MS && this.pending.size < MAX_PENDING) break;
      this.pending.delete(sid);
    }
  }
}

function offsetOf(data: unknown[]): string | undefined {
  const last = data[data.length - 1];
  return typeof last === 'string' ? last : undefined;
}
