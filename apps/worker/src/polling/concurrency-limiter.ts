/**
 * Counting semaphore: at most `limit` holders at once, waiters served first come first served. Waiters
 * are read from a moving head rather than shift()ed: a backlog of batches can queue thousands of them,
 * and shifting a long array copies it (seen as the worker's top function once it fell behind).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private waiters: Array<() => void> = [];
  private head = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  get inFlight(): number {
    return this.active;
  }

  /** Waits for a place; the function returned gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.nextWaiter();
      // The place passes straight to the next waiter, so `active` is unchanged.
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
