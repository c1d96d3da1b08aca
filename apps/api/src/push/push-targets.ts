import { Injectable } from '@nestjs/common';
import { PushRepository, PushTarget } from './push.repository';

/** Meter numbers looked up by one statement at most. */
export const LOOKUP_MAX_KEYS = 1000;

interface Waiting {
  resolve: (target: PushTarget | null) => void;
  reject: (err: unknown) => void;
}

/**
 * Meters of the pushes arriving together are looked up with ONE statement (per event-loop turn, at most
 * LOOKUP_MAX_KEYS numbers): at thousands of pushes per second a query each would cost more than the rest
 * of the push. Nothing is cached, so a rotated secret or a deleted meter counts from the next push on.
 */
@Injectable()
export class PushTargets {
  private pending = new Map<string, Waiting[]>();
  private scheduled = false;

  constructor(private readonly repository: PushRepository) {}

  find(meterNumber: string): Promise<PushTarget | null> {
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(meterNumber);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(meterNumber, [{ resolve, reject }]);
      if (this.pending.size >= LOOKUP_MAX_KEYS) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.repository.findTargets([...batch.keys()]).then(
      (targets) => {
        const byNumber = new Map(targets.map((t) => [t.meterNumber, t]));
        for (const [number, waiting] of batch) {
          for (const w of waiting) w.resolve(byNumber.get(number) ?? null);
        }
      },
      (err: unknown) => {
        for (const waiting of batch.values()) for (const w of waiting) w.reject(err);
      },
    );
  }
}
