import { Inject, Injectable } from '@nestjs/common';
import { and, count, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { type ApiKey, apiKeys, type Database, DRIZZLE } from '@app/database';

export type NewApiKeyRow = Pick<ApiKey, 'name' | 'prefix' | 'keyHash' | 'role' | 'areaIds' | 'expiresAt'> & {
  createdBy: string | null;
};

/** Last use is written at most this often per key, not on every request. */
const LAST_USE_RESOLUTION = sql`interval '1 minute'`;

@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async insert(row: NewApiKeyRow): Promise<ApiKey> {
    const [created] = await this.db.insert(apiKeys).values(row).returning();
    return created;
  }

  async findByHash(keyHash: string): Promise<ApiKey | undefined> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash));
    return row;
  }

  async findById(id: string): Promise<ApiKey | undefined> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.id, id));
    return row;
  }

  async list(offset: number, limit: number): Promise<{ rows: ApiKey[]; total: number }> {
    const [rows, [{ total }]] = await Promise.all([
      this.db
        .select()
        .from(apiKeys)
        .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
        .offset(offset)
        .limit(limit),
      this.db.select({ total: count() }).from(apiKeys),
    ]);
    return { rows, total };
  }

  /** Revokes a live key; undefined when there is no such key, the row as it is when already revoked. */
  async revoke(id: string): Promise<{ key: ApiKey; revokedNow: boolean } | undefined> {
    const [revoked] = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    if (revoked) return { key: revoked, revokedNow: true };
    const existing = await this.findById(id);
    return existing && { key: existing, revokedNow: false };
  }

  async touchLastUse(id: string): Promise<void> {
    await this.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          eq(apiKeys.id, id),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - ${LAST_USE_RESOLUTION}`)),
        ),
      );
  }
}
