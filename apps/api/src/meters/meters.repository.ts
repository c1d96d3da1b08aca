import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, ilike, inArray, isNull, or, SQL, sql } from 'drizzle-orm';
import { areas, Database, DRIZZLE, Meter, meters, MeterStatus, NewMeter } from '@app/database';

export interface MeterAreaRef {
  id: string;
  name: string;
  code: string;
}
export type MeterWithArea = Meter & { area: MeterAreaRef };

export interface MeterListFilter {
  status?: MeterStatus;
  areaId?: string;
  brand?: string;
  search?: string;
}

export interface OnlineConfiguration {
  status: MeterStatus;
  ipAddress: string;
  port: number;
}

export interface BatchCounts {
  matchedCount: number;
  modifiedCount: number;
}

/** Lifecycle states that the batch "enable all" leaves alone. */
export const LIFECYCLE_STATUSES: MeterStatus[] = ['warehouse', 'faulty'];

const live = isNull(meters.deletedAt);
const areaRef = { id: areas.id, name: areas.name, code: areas.code };

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * A configured address means the meter should be polled promptly: the offline backoff (owned by polling)
 * is cleared whenever an operator changes status or address.
 */
const clearBackoff = { nextPollAt: null, consecutiveFailures: 0 } as const;

@Injectable()
export class MetersRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async findLiveById(id: string): Promise<Meter | undefined> {
    const [row] = await this.db
      .select()
      .from(meters)
      .where(and(eq(meters.id, id), live));
    return row;
  }

  async findLiveByNumber(meterNumber: string): Promise<Meter | undefined> {
    const [row] = await this.db
      .select()
      .from(meters)
      .where(and(eq(meters.meterNumber, meterNumber), live));
    return row;
  }

  async findLiveWithArea(id: string): Promise<MeterWithArea | undefined> {
    const [row] = await this.db
      .select({ meter: meters, area: areaRef })
      .from(meters)
      .innerJoin(areas, eq(areas.id, meters.areaId))
      .where(and(eq(meters.id, id), live));
    return row && { ...row.meter, area: row.area };
  }

  async list(
    filter: MeterListFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: MeterWithArea[]; total: number }> {
    const conditions: SQL[] = [live];
    if (filter.status) conditions.push(eq(meters.status, filter.status));
    if (filter.areaId) conditions.push(eq(meters.areaId, filter.areaId));
    if (filter.brand) conditions.push(sql`lower(${meters.brand}) = lower(${filter.brand})`);
    if (filter.search) {
      const pattern = `%${escapeLike(filter.search)}%`;
      conditions.push(
        or(ilike(meters.meterNumber, pattern), ilike(meters.brand, pattern), ilike(meters.model, pattern))!,
      );
    }
    const where = and(...conditions);
    const rows = await this.db
      .select({ meter: meters, area: areaRef })
      .from(meters)
      .innerJoin(areas, eq(areas.id, meters.areaId))
      .where(where)
      .orderBy(asc(meters.meterNumber))
      .offset(offset)
      .limit(limit);
    const [{ total }] = await this.db.select({ total: count() }).from(meters).where(where);
    return { rows: rows.map((r) => ({ ...r.meter, area: r.area })), total };
  }

  async insert(meter: NewMeter): Promise<Meter> {
    const [row] = await this.db.insert(meters).values(meter).returning();
    return row;
  }

  async update(
    id: string,
    changes: Partial<NewMeter>,
    addressOrStatusChanged: boolean,
  ): Promise<Meter | undefined> {
    const [row] = await this.db
      .update(meters)
      .set({ ...changes, ...(addressOrStatusChanged ? clearBackoff : {}), updatedAt: new Date() })
      .where(and(eq(meters.id, id), live))
      .returning();
    return row;
  }

  /** Soft delete: the row stays for its history, but lists, lookups and polling no longer see it. */
  async softDelete(id: string): Promise<boolean> {
    const rows = await this.db
      .update(meters)
      .set({ deletedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(meters.id, id), live))
      .returning({ id: meters.id });
    return rows.length > 0;
  }

  /**
   * Sets status/address on every live meter not in a lifecycle state, in one statement. matchedCount is
   * the meters selected, modifiedCount those whose status, address or port actually changed.
   */
  async enableAllOnline(config: OnlineConfiguration): Promise<BatchCounts> {
    const result = await this.db.execute<{ matched: number; modified: number }>(sql`
      with matched as (
        select ${meters.id} as id,
               (${meters.status} <> ${config.status}::meter_status
                or ${meters.ipAddress} is distinct from ${config.ipAddress}
                or ${meters.port} is distinct from ${config.port}::int) as changed
        from ${meters}
        where ${meters.deletedAt} is null
          and ${meters.status} not in (${sql.join(
            LIFECYCLE_STATUSES.map((s) => sql`${s}::meter_status`),
            sql`, `,
          )})
        for update
      ), updated as (
        update ${meters} as m
        set status = ${config.status}::meter_status, ip_address = ${config.ipAddress}, port = ${config.port}::int,
            next_poll_at = null, consecutive_failures = 0, updated_at = now()
        from matched
        where m.id = matched.id and matched.changed
        returning m.id
      )
      select (select count(*) from matched)::int as matched, (select count(*) from updated)::int as modified`);
    const [row] = result.rows;
    return { matchedCount: Number(row.matched), modifiedCount: Number(row.modified) };
  }

  /**
   * Configures the given live meters (by id or meter number), all or nothing: when any reference matches
   * no live meter, nothing changes and the unmatched references are returned.
   */
  async configureOnline(
    ids: string[],
    meterNumbers: string[],
    config: OnlineConfiguration,
  ): Promise<BatchCounts | { unmatchedIds: string[]; unmatchedNumbers: string[] }> {
    return this.db.transaction(async (tx) => {
      const byRef: SQL[] = [];
      if (ids.length) byRef.push(inArray(meters.id, ids));
      if (meterNumbers.length) byRef.push(inArray(meters.meterNumber, meterNumbers));
      const found = byRef.length
        ? await tx
            .select({
              id: meters.id,
              meterNumber: meters.meterNumber,
              status: meters.status,
              ipAddress: meters.ipAddress,
              port: meters.port,
            })
            .from(meters)
            .where(and(live, or(...byRef)))
            .orderBy(asc(meters.id))
            .for('update')
        : [];
      const foundIds = new Set(found.map((m) => m.id));
      const foundNumbers = new Set(found.map((m) => m.meterNumber));
      const unmatchedIds = ids.filter((id) => !foundIds.has(id));
      const unmatchedNumbers = meterNumbers.filter((n) => !foundNumbers.has(n));
      if (unmatchedIds.length || unmatchedNumbers.length) return { unmatchedIds, unmatchedNumbers };
      const changed = found
        .filter(
          (m) => m.status !== config.status || m.ipAddress !== config.ipAddress || m.port !== config.port,
        )
        .map((m) => m.id);
      if (changed.length) {
        await tx
          .update(meters)
          .set({ ...config, ...clearBackoff, updatedAt: new Date() })
          .where(inArray(meters.id, changed));
      }
      return { matchedCount: found.length, modifiedCount: changed.length };
    });
  }
}
