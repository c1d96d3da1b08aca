import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { AccessScope } from '../auth/access-scope';
import { Area, areas, Database, DRIZZLE, meters, NewArea } from '@app/database';

export type AreaWithCount = Area & { meterCount: number };

// Spelled out: inside a single-table select Drizzle renders columns without their table name, which
// would make the correlated condition compare meters' own columns.
const liveMeterCount = sql<number>`(select count(*)::int from meters m where m.area_id = ${areas}.id and m.deleted_at is null)`;

@Injectable()
export class AreasRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async findById(id: string, scope: AccessScope): Promise<AreaWithCount | undefined> {
    const [row] = await this.db
      .select({ area: areas, meterCount: liveMeterCount })
      .from(areas)
      .where(and(eq(areas.id, id), scope.filter(areas.id)));
    return row && { ...row.area, meterCount: row.meterCount };
  }

  async findByCode(code: string, scope: AccessScope): Promise<AreaWithCount | undefined> {
    const [row] = await this.db
      .select({ area: areas, meterCount: liveMeterCount })
      .from(areas)
      .where(and(eq(areas.code, code), scope.filter(areas.id)));
    return row && { ...row.area, meterCount: row.meterCount };
  }

  async list(
    offset: number,
    limit: number,
    scope: AccessScope,
  ): Promise<{ rows: AreaWithCount[]; total: number }> {
    const rows = await this.db
      .select({ area: areas, meterCount: liveMeterCount })
      .from(areas)
      .where(scope.filter(areas.id))
      .orderBy(asc(areas.name))
      .offset(offset)
      .limit(limit);
    const [{ total }] = await this.db.select({ total: count() }).from(areas).where(scope.filter(areas.id));
    return { rows: rows.map((r) => ({ ...r.area, meterCount: r.meterCount })), total };
  }

  /** Those of `ids` that name no area. */
  async missing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.db.select({ id: areas.id }).from(areas).where(inArray(areas.id, ids));
    const known = new Set(found.map((r) => r.id));
    return ids.filter((id) => !known.has(id));
  }

  async insert(area: NewArea): Promise<Area> {
    const [row] = await this.db.insert(areas).values(area).returning();
    return row;
  }

  async update(id: string, changes: Partial<NewArea>): Promise<Area | undefined> {
    const [row] = await this.db
      .update(areas)
      .set({ ...changes, updatedAt: new Date() })
      .where(eq(areas.id, id))
      .returning();
    return row;
  }

  /** Deletes the area unless meters (live or soft-deleted) reference it. */
  async deleteIfUnused(
    id: string,
  ): Promise<'deleted' | 'not-found' | { liveMeters: number; deletedMeters: number }> {
    return this.db.transaction(async (tx) => {
      const [area] = await tx.select({ id: areas.id }).from(areas).where(eq(areas.id, id)).for('update');
      if (!area) return 'not-found';
      const [usage] = await tx
        .select({
          liveMeters: sql<number>`count(*) filter (where ${meters.deletedAt} is null)::int`,
          deletedMeters: sql<number>`count(*) filter (where ${meters.deletedAt} is not null)::int`,
        })
        .from(meters)
        .where(eq(meters.areaId, id));
      if (usage.liveMeters > 0 || usage.deletedMeters > 0) return usage;
      await tx.delete(areas).where(and(eq(areas.id, id)));
      return 'deleted';
    });
  }
}
