import { Inject, Injectable } from '@nestjs/common';
import { eq, sql } from 'drizzle-orm';
import { DRIZZLE, type Database } from './database.module';
import { settings } from './schema';

/**
 * Fleet-wide settings (the `settings` table): one JSON value per key, read the same way by every process.
 * PostgreSQL is their source of truth; processes may cache a value but never own it.
 */
@Injectable()
export class SettingsRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  /** The stored value of `key`, or undefined when it was never set. */
  async get<T>(key: string): Promise<T | undefined> {
    const rows = await this.db
      .select({ value: settings.value })
      .from(settings)
      .where(eq(settings.key, key))
      .limit(1);
    return rows.length ? (rows[0].value as T) : undefined;
  }

  /**
   * Stores `value` only when `key` has no value yet (several processes may seed at once; the first wins)
   * and returns the value in force afterwards.
   */
  async seed<T>(key: string, value: T): Promise<T> {
    const inserted = await this.db
      .insert(settings)
      .values({ key, value })
      .onConflictDoNothing({ target: settings.key })
      .returning({ value: settings.value });
    if (inserted.length) return inserted[0].value as T;
    // Undefined only if the row was deleted between the two statements; the caller's value then stands.
    return (await this.get<T>(key)) ?? value;
  }

  /** Sets `key` to `value` and returns the value it had before (undefined when unset). */
  async set<T>(key: string, value: T): Promise<T | undefined> {
    return this.db.transaction(async (tx) => {
      const before = await tx
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, key))
        .for('update');
      await tx
        .insert(settings)
        .values({ key, value })
        .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: sql`now()` } });
      return before.length ? (before[0].value as T) : undefined;
    });
  }
}
