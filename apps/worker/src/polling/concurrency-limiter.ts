/**
 * Counting semaphore: at most `limit` holders at once, waiters served first come first served. The limit
 * can be narrowed for a while (`narrowTo`): holders beyond it keep their place until they release, and no
 * waiter is served until the holders are back under it. Waiters are read from a moving head rather than
 * shift()ed: a backlog of batches can queue thousands of them, and shifting a long array copies it (seen
 * as the worker's top function once it fell behind).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private current: number;
  private waiters: Array<() => void> = [];
  private head = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    this.current = limit;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Serves at most `places` holders at once (1..limit) until called again; `limit` restores the whole. */
  narrowTo(places: number): void {
    this.current = Math.max(1, Math.min(this.limit, Math.floor(places)));
    while (this.active < this.current) {
      const next = this.nextWaiter();
      if (!next) return;
      this.active++;
      next();
    }
  }

  /** Waits for a place; the function returned gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.active < this.current) this.active++;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The place passes straight to the next waiter, so `active` is unchanged.
      const next = this.active <= this.current ? this.nextWaiter() : undefined;
      if (next) next();
      else this.active--;
    };
  }

  private nextWaiter(): (() => void) | undefined {
    if (this.head === this.waiters.length) {
      this.waiters = [];
      this.head = 0;
      return undefined;
    }
    const next = this.waiters[this.head++];
    // Drop the served part once it is most of the array: amortised O(1) per waiter.
    if (this.head >= 1024 && this.head * 2 >= this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    return next;
  }
}
