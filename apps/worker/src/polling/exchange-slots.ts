import { ConcurrencyLimiter } from './concurrency-limiter';

/**
 * A meter that has not answered within this is treated as silent: it gives its exchange slot back and
 * waits out its deadline as one of the silent reads. Short, because a silent meter holds its slot this
 * long: at 100,000 meters a minute with 20 % dark, 333 dark reads start each second, so 1 s would take
 * 333 slot-seconds per second, more than the slots there are; 250 ms takes ~85. A slow but healthy meter
 * that crosses it loses nothing: it is still read, it only stops counting against the slots.
 */
export const SILENT_AFTER_MS = 250;

/**
 * Share of the slots scheduled exchanges keep while an operator's command runs in this worker. Each step
 * of a command (its lock, the meter, the store, the audit record) waits for a turn of the event loop, and
 * a turn lasts as long as the completions of the exchanges in flight take: with every slot busy (a worker
 * catching up) that is tens of milliseconds a turn. A quarter of the slots makes those turns about four
 * times shorter while the operator waits. When the worker is CPU-bound, fewer exchanges at once are
 * each served sooner, so the scheduled reads lose little.
 */
export const SLOTS_KEPT_FOR_SCHEDULED_WHILE_OPERATING = 0.25;

/**
 * Where the worker's scheduled exchanges run. At most `slots` exchanges are actively served at once
 * (METER_MAX_CONCURRENT_POLLS: what bounds CPU, sockets opened per second and the pace of a catch-up
 * burst). A meter still silent after SILENT_AFTER_MS hands its slot back and waits out its deadline
 * among at most `silent` others (METER_MAX_SILENT_READS): a silent meter costs a socket and a timer, so a
 * dark part of the fleet (20 % of 100,000 meters at 60 s with a 10 s deadline is ~3,300 waiting at once)
 * no longer starves the answering ones. When the silent reads are at their bound, a silent meter keeps
 * its slot: the total stays bounded by slots + silent.
 */
export class ExchangeSlots {
  private readonly limiter: ConcurrencyLimiter;
  private silentNow = 0;
  private operating = 0;

  constructor(
    readonly slots: number,
    readonly silent: number,
    private readonly silentAfterMs = SILENT_AFTER_MS,
  ) {
    this.limiter = new ConcurrencyLimiter(slots);
  }

  /** Exchanges waiting on a silent meter, their slot handed back. */
  get silentReads(): number {
    return this.silentNow;
  }

  /** Exchanges holding a slot. */
  get active(): number {
    return this.limiter.inFlight;
  }

  /**
   * Narrows the slots while an operator's command runs (SLOTS_KEPT_FOR_SCHEDULED_WHILE_OPERATING); the
   * function returned ends it (calling it again does nothing).
   */
  operatorFirst(): () => void {
    if (this.operating++ === 0) {
      this.limiter.narrowTo(Math.ceil(this.slots * SLOTS_KEPT_FOR_SCHEDULED_WHILE_OPERATING));
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.operating === 0) this.limiter.narrowTo(this.slots);
    };
  }

  async run<T>(exchange: () => Promise<T>): Promise<T> {
    const release = await this.limiter.acquire();
    let wentSilent = false;
    const timer = setTimeout(() => {
      if (this.silentNow >= this.silent) return;
      this.silentNow++;
      wentSilent = true;
      release();
    }, this.silentAfterMs);
    try {
      return await exchange();
    } finally {
      clearTimeout(timer);
      if (wentSilent) this.silentNow--;
      release();
    }
  }
}
