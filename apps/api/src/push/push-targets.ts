import { ApiEnv } from '@app/config';
import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { PushSecretCipher } from './push-secret.cipher';
import { PushRepository, PushTarget } from './push.repository';

/** Meter numbers looked up by one statement at most. */
export const LOOKUP_MAX_KEYS = 1000;
/** How long a cached meter and secret are trusted before PostgreSQL is asked again. */
export const PUSH_SECRET_CACHE_TTL_MS = 5 * 60_000;
/** A cached secret that does not verify a push is read again, at most this often per meter. */
export const PUSH_SECRET_REFRESH_MIN_MS = 1000;

/** A meter that can push: its row and its decrypted secret. */
export interface PushCredentials {
  target: PushTarget;
  secret: string;
  /** When it was read from PostgreSQL (Date.now()). */
  fetchedAt: number;
}

interface Waiting {
  resolve: (target: PushTarget | null) => void;
  reject: (err: unknown) => void;
}

/**
 * The meters that push and their secrets, for the push listener. Two costs are avoided per push:
 * - a statement: meters of the pushes arriving together are looked up with ONE statement (per event-loop
 *   turn, at most LOOKUP_MAX_KEYS numbers);
 * - the statement altogether, and the decryption: a bounded LRU (PUSH_SECRET_CACHE_SIZE meters, 0 = off)
 *   keeps a meter's row and decrypted secret for PUSH_SECRET_CACHE_TTL_MS.
 *
 * Rotation: this api instance forgets the meter when it rotates its secret (`forget`), so the old secret
 * stops working here at once. Another api instance still holds the old secret; a push signed with the NEW
 * one fails against it, and a failure makes `refresh` read the meter again (at most once a second per
 * meter), so the new secret works everywhere at once; the old one keeps working on other instances until
 * their entry expires (≤ 5 minutes). The same bound applies to a meter deleted or moved through another instance.
 * Unknown meters and meters without a secret are not cached: a new meter's first push is looked up.
 */
@Injectable()
export class PushTargets {
  private pending = new Map<string, Waiting[]>();
  private scheduled = false;
  private readonly cache?: LRUCache<string, PushCredentials>;

  constructor(
    private readonly repository: PushRepository,
    private readonly cipher: PushSecretCipher,
    env: ApiEnv,
  ) {
    if (env.PUSH_SECRET_CACHE_SIZE > 0) {
      this.cache = new LRUCache({ max: env.PUSH_SECRET_CACHE_SIZE, ttl: PUSH_SECRET_CACHE_TTL_MS });
    }
  }

  /** The meter's credentials (cached or read), or null: unknown, deleted, without (a readable) secret. */
  find(meterNumber: string): Promise<PushCredentials | null> {
    const cached = this.cache?.get(meterNumber);
    return cached ? Promise.resolve(cached) : this.load(meterNumber).then((t) => this.credentialsOf(t));
  }

  /** The live meter, with or without a secret (the seed route, authenticated by its shared key). */
  findMeter(meterNumber: string): Promise<PushTarget | null> {
    return this.load(meterNumber);
  }

  /**
   * Reads a meter again after its cached secret failed to verify a push (rotated through another api
   * instance?); null when the cached entry is too fresh to be worth a statement.
   */
  refresh(stale: PushCredentials, nowMs = Date.now()): Promise<PushCredentials | null> | null {
    if (nowMs - stale.fetchedAt < PUSH_SECRET_REFRESH_MIN_MS) return null;
    this.cache?.delete(stale.target.meterNumber);
    return this.load(stale.target.meterNumber).then((t) => this.credentialsOf(t));
  }

  /** The meter's secret changed (or the meter went away) here: the next push reads it again. */
  forget(meterNumber: string): void {
    this.cache?.delete(meterNumber);
  }

  private credentialsOf(target: PushTarget | null): PushCredentials | null {
    const secret = target?.secret ? this.cipher.decrypt(target.secret) : null;
    if (!target || !secret) return null;
    const credentials = { target, secret, fetchedAt: Date.now() };
    this.cache?.set(target.meterNumber, credentials);
    return credentials;
  }

  private load(meterNumber: string): Promise<PushTarget | null> {
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
        const found = new Map(targets.map((t) => [t.meterNumber, t]));
        for (const [number, waiting] of batch) {
          for (const w of waiting) w.resolve(found.get(number) ?? null);
        }
      },
      (err: unknown) => {
        for (const waiting of batch.values()) for (const w of waiting) w.reject(err);
      },
    );
  }
}
