import { RealtimeEnvelope } from '@app/contracts';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';

const REPORT_EVERY_MS = 10_000;
/** A publisher silent this long has stopped (or has nothing to say); forget it (its next event is a new baseline). */
const PUBLISHER_FORGET_AFTER_MS = 5 * 60_000;
const MAX_TRACKED_PUBLISHERS = 10_000;

export interface RealtimeDeliveryStats {
  /** Numbered events (from our publishers) that this instance read from the stream. */
  received: number;
  /** Events handed to this instance's Socket.IO server (which delivers them to local sockets in the rooms). */
  accepted: number;
  /** Events that never reached this instance (from sequence gaps: e.g. trimmed from the stream before it read them). */
  lost: number;
  /** Number of gaps (each may cover several events). */
  gaps: number;
  /** Repeated or out-of-order events (a publisher's retried append), not delivered. */
  duplicates: number;
  /** Stream entries that could not be decoded or delivered. */
  malformed: number;
  /** Times the stream reader's Redis connection dropped (it resumes where it stopped: nothing is lost). */
  readerInterruptions: number;
  readerConnected: boolean;
  /** Id of the last stream entry this instance read (any entry, ours or not). */
  streamOffset: string | null;
  publishers: number;
  /** Reconnecting clients given the events they missed, and those events. */
  recoveredSessions: number;
  recoveredEvents: number;
  /** Recovered clients that may have missed events (the hand-over buffer did not reach back far enough). */
  recoveryGaps: number;
}

interface PublisherState {
  lastSeq: number;
  lastSeenAt: number;
}

/**
 * Makes live-event losses visible. The stream keeps order and survives this instance's Redis connection
 * dropping (the reader resumes where it stopped), so what is left to watch is each publisher's numbering:
 * a jump is events this instance never read (e.g. trimmed from the stream while it lagged, or Redis lost
 * its data), a repeated or older number is a retried append, delivered once. Losses are logged
 * (aggregated, at most one line per REPORT_EVERY_MS) and counted in stats(), served by
 * GET /api/realtime/stats, with the reconnecting clients this instance recovered.
 */
@Injectable()
export class RealtimeDeliveryMonitor implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeDelivery');
  private readonly publishers = new Map<string, PublisherState>();
  private readonly counters = {
    received: 0,
    accepted: 0,
    lost: 0,
    gaps: 0,
    duplicates: 0,
    malformed: 0,
    readerInterruptions: 0,
    recoveredSessions: 0,
    recoveredEvents: 0,
    recoveryGaps: 0,
  };
  private readerConnected = false;
  private streamOffset: string | null = null;
  private unreported = {
    lost: 0,
    gaps: 0,
    duplicates: 0,
    malformed: 0,
    recoveryGaps: 0,
    publishers: new Set<string>(),
  };
  private lastMalformedError = '';
  private timer?: NodeJS.Timeout;
  private readonly localPublisherId?: string;

  /**
   * This instance's own publisher is read from the stream like any other. Its numbering is known to start
   * at 1, so it is tracked from 0: even a loss of its first events is counted, and it is not forgotten
   * while it has nothing to publish.
   */
  constructor(@Optional() localPublisher?: MeterEventsPublisher) {
    if (!localPublisher) return;
    this.localPublisherId = localPublisher.publisherId;
    this.publishers.set(localPublisher.publisherId, { lastSeq: 0, lastSeenAt: Date.now() });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.report();
      this.forgetSilentPublishers(Date.now());
    }, REPORT_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.report();
  }

  /** Every stream entry this instance reads, in stream order. */
  read(offset: string): void {
    this.streamOffset = offset;
  }

  /**
   * Called for every entry before it is delivered. Returns false when it must not be delivered (a
   * duplicate). Entries without our envelope (an adapter's own traffic between api instances) are
   * delivered unchecked.
   */
  accept(envelope: RealtimeEnvelope | null, now = Date.now()): boolean {
    if (!envelope) return true;
    this.counters.received++;
    const state = this.publishers.get(envelope.publisherId);
    if (!state) {
      // First event seen from this publisher: the baseline (what came before this instance started reading is not a loss).
      if (this.publishers.size < MAX_TRACKED_PUBLISHERS) {
        this.publishers.set(envelope.publisherId, { lastSeq: envelope.seq, lastSeenAt: now });
      }
      this.counters.accepted++;
      return true;
    }
    state.lastSeenAt = now;
    const expected = state.lastSeq + 1;
    if (envelope.seq > expected) {
      const missing = envelope.seq - expected;
      this.counters.lost += missing;
      this.counters.gaps++;
      this.unreported.lost += missing;
      this.unreported.gaps++;
      this.unreported.publishers.add(envelope.publisherId);
    } else if (envelope.seq < expected) {
      this.counters.duplicates++;
      this.unreported.duplicates++;
      return false;
    }
    state.lastSeq = envelope.seq;
    this.counters.accepted++;
    return true;
  }

  malformed(err: unknown): void {
    this.counters.malformed++;
    this.unreported.malformed++;
    this.lastMalformedError = err instanceof Error ? err.message : String(err);
  }

  recovered(events: number, gap: boolean): void {
    this.counters.recoveredSessions++;
    this.counters.recoveredEvents += events;
    if (!gap) return;
    this.counters.recoveryGaps++;
    this.unreported.recoveryGaps++;
  }

  readerDown(reason: string): void {
    if (!this.readerConnected) return;
    this.readerConnected = false;
    this.counters.readerInterruptions++;
    this.logger.warn(`Redis stream reader connection lost (${reason}); it resumes where it stopped`);
  }

  readerUp(): void {
    if (this.readerConnected) return;
    const wasInterrupted = this.counters.readerInterruptions > 0;
    this.readerConnected = true;
    if (wasInterrupted) this.logger.log('Redis stream reader connection restored');
  }

  stats(): RealtimeDeliveryStats {
    return {
      ...this.counters,
      readerConnected: this.readerConnected,
      streamOffset: this.streamOffset,
      publishers: this.publishers.size,
    };
  }

  private report(): void {
    const u = this.unreported;
    if (u.lost > 0) {
      this.logger.warn(
        `${u.lost} live event(s) never read from the stream, in ${u.gaps} gap(s) from publisher(s) ` +
          `${[...u.publishers].slice(0, 5).join(', ')} (total lost since start: ${this.counters.lost})`,
      );
    }
    if (u.duplicates > 0) this.logger.warn(`dropped ${u.duplicates} duplicate live event(s)`);
    if (u.malformed > 0) {
      this.logger.warn(`ignored ${u.malformed} malformed live event entr(ies): ${this.lastMalformedError}`);
    }
    if (u.recoveryGaps > 0) {
      this.logger.warn(
        `${u.recoveryGaps} reconnecting client(s) recovered with possibly missing events (hand-over buffer too short)`,
      );
    }
    this.unreported = {
      lost: 0,
      gaps: 0,
      duplicates: 0,
      malformed: 0,
      recoveryGaps: 0,
      publishers: new Set(),
    };
  }

  private forgetSilentPublishers(now: number): void {
    for (const [id, state] of this.publishers) {
      if (id === this.localPublisherId) continue;
      if (now - state.lastSeenAt > PUBLISHER_FORGET_AFTER_MS) this.publishers.delete(id);
    }
  }
}
