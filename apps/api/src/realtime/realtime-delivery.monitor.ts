import { RealtimeEnvelope } from '@app/contracts';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';

const REPORT_EVERY_MS = 10_000;
/** A publisher silent this long has stopped (heartbeats come every few seconds); forget it. */
const PUBLISHER_FORGET_AFTER_MS = 5 * 60_000;
const MAX_TRACKED_PUBLISHERS = 10_000;

export interface RealtimeDeliveryStats {
  /** Sequenced messages (events and heartbeats) that reached this instance from Redis. */
  received: number;
  /** Events handed to this instance's Socket.IO server (which delivers them to local sockets in the rooms). */
  accepted: number;
  heartbeats: number;
  /** Messages Redis pub/sub lost between a publisher and this instance (from sequence gaps). */
  lost: number;
  /** Number of gaps (each may cover several messages). */
  gaps: number;
  /** Repeated or out-of-order messages, not delivered. */
  duplicates: number;
  /** Messages on our channels that could not be handled. */
  malformed: number;
  /** Times the Redis subscriber connection dropped (events published meanwhile show up as gaps). */
  subscriberInterruptions: number;
  subscriberConnected: boolean;
  publishers: number;
}

interface PublisherState {
  lastSeq: number;
  lastSeenAt: number;
}

/**
 * Makes Redis pub/sub losses visible: every publisher (each worker, and each api instance for operators'
 * status changes) numbers its messages, so this instance can tell, per
 * publisher, how many never arrived (a jump in the sequence) and drop any that arrive twice. It sees
 * every message of every publisher (the adapter's pattern subscription), whether or not a local socket
 * is in the target room. Losses are logged (aggregated, at most one line per REPORT_EVERY_MS) and
 * counted in stats(), served by GET /api/realtime/stats.
 */
@Injectable()
export class RealtimeDeliveryMonitor implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeDelivery');
  private readonly publishers = new Map<string, PublisherState>();
  private readonly counters = {
    received: 0,
    accepted: 0,
    heartbeats: 0,
    lost: 0,
    gaps: 0,
    duplicates: 0,
    malformed: 0,
    subscriberInterruptions: 0,
  };
  private subscriberConnected = false;
  private unreported = { lost: 0, gaps: 0, duplicates: 0, malformed: 0, publishers: new Set<string>() };
  private lastMalformedError = '';
  private timer?: NodeJS.Timeout;
  private readonly localPublisherId?: string;

  /**
   * This instance's own publisher is received through Redis like any other (the adapter skips only its
   * own inter-instance traffic). Its numbering is known to start at 1, so it is tracked from 0: even a
   * loss of its first messages is counted, and it is not forgotten while it has nothing to publish.
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

  /**
   * Called for every message on the live-event channels before it is delivered. Returns false when it
   * must not be delivered (a heartbeat, or a duplicate). Messages without our envelope (the adapter's
   * own traffic between api instances) are delivered unchecked.
   */
  accept(envelope: RealtimeEnvelope | null, heartbeat: boolean, now = Date.now()): boolean {
    if (!envelope) return !heartbeat;
    this.counters.received++;
    if (heartbeat) this.counters.heartbeats++;
    const state = this.publishers.get(envelope.publisherId);
    if (!state) {
      // First message seen from this publisher: the baseline (what came before we subscribed is not a loss).
      if (this.publishers.size < MAX_TRACKED_PUBLISHERS) {
        this.publishers.set(envelope.publisherId, { lastSeq: envelope.seq, lastSeenAt: now });
      }
      if (!heartbeat) this.counters.accepted++;
      return !heartbeat;
    }
    state.lastSeenAt = now;
    // A heartbeat repeats the publisher's latest number: equal is expected, larger means a lost tail.
    const expected = heartbeat ? state.lastSeq : state.lastSeq + 1;
    if (envelope.seq > expected) {
      const missing = envelope.seq - expected;
      this.counters.lost += missing;
      this.counters.gaps++;
      this.unreported.lost += missing;
      this.unreported.gaps++;
      this.unreported.publishers.add(envelope.publisherId);
    } else if (envelope.seq < expected) {
      if (heartbeat) return false;
      this.counters.duplicates++;
      this.unreported.duplicates++;
      return false;
    }
    state.lastSeq = Math.max(state.lastSeq, envelope.seq);
    if (heartbeat) return false;
    this.counters.accepted++;
    return true;
  }

  malformed(err: unknown): void {
    this.counters.malformed++;
    this.unreported.malformed++;
    this.lastMalformedError = err instanceof Error ? err.message : String(err);
  }

  subscriberDown(reason: string): void {
    if (!this.subscriberConnected) return;
    this.subscriberConnected = false;
    this.counters.subscriberInterruptions++;
    this.logger.warn(
      `Redis subscriber connection lost (${reason}): live events published until it is back are lost ` +
        'and will be counted as gaps per publisher',
    );
  }

  subscriberUp(): void {
    if (this.subscriberConnected) return;
    const wasInterrupted = this.counters.subscriberInterruptions > 0;
    this.subscriberConnected = true;
    if (wasInterrupted) this.logger.log('Redis subscriber connection restored');
  }

  stats(): RealtimeDeliveryStats {
    return {
      ...this.counters,
      subscriberConnected: this.subscriberConnected,
      publishers: this.publishers.size,
    };
  }

  private report(): void {
    const u = this.unreported;
    if (u.lost > 0) {
      this.logger.warn(
        `Redis pub/sub lost ${u.lost} live event message(s) in ${u.gaps} gap(s) from publisher(s) ` +
          `${[...u.publishers].slice(0, 5).join(', ')} (total lost since start: ${this.counters.lost})`,
      );
    }
    if (u.duplicates > 0) this.logger.warn(`dropped ${u.duplicates} duplicate live event message(s)`);
    if (u.malformed > 0) {
      this.logger.warn(`ignored ${u.malformed} malformed live event message(s): ${this.lastMalformedError}`);
    }
    this.unreported = { lost: 0, gaps: 0, duplicates: 0, malformed: 0, publishers: new Set() };
  }

  private forgetSilentPublishers(now: number): void {
    for (const [id, state] of this.publishers) {
      if (id === this.localPublisherId) continue;
      if (now - state.lastSeenAt > PUBLISHER_FORGET_AFTER_MS) this.publishers.delete(id);
    }
  }
}
