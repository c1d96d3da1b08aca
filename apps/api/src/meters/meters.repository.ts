import { Inject, Injectable } from '@nestjs/common';
import { and, asc, count, eq, gt, ilike, inArray, isNull, or, SQL, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { AccessScope } from '../auth/access-scope';
import { areas, Database, DRIZZLE, Meter, meterEvents, meters, MeterStatus, NewMeter } from '@app/database';

export interface MeterAreaRef {
  id: string;
  name: string;
  code: string;
}
export type MeterWithArea = Meter & { area: MeterAreaRef };
/** What a meter's API view shows (MeterDto): a MeterWithArea without the polling internals. */
export type MeterView = Pick<Meter, Exclude<keyof typeof meterViewColumns, 'area'>> & { area: MeterAreaRef };

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

/** A meter whose status an operator's request changed (committed with its meter_events row). */
export interface MeterStatusChange {
  meterId: string;
  meterNumber: string;
  areaId: string;
  previousStatus: MeterStatus;
  status: MeterStatus;
  reason: string;
  lastSeen: Date | null;
  changedAt: Date;
}

export interface BatchResult extends BatchCounts {
  statusChanges: MeterStatusChange[];
}

/** Lifecycle states that the batch "enable all" leaves alone. */
export const LIFECYCLE_STATUSES: MeterStatus[] = ['warehouse', 'faulty'];

const live = isNull(meters.deletedAt);
const areaRef = { id: areas.id, name: areas.name, code: areas.code };
/**
 * The list reads only these columns, selected in the API view's shape and field order (MeterDto: the area
 * nested after the model), so that the rows drizzle maps are the answer's objects: mapping and copying a
 * page of 100 rows was a good part of its CPU cost.
 */
const meterViewColumns = {
  id: meters.id,
  meterNumber: meters.meterNumber,
  meterType: meters.meterType,
  brand: meters.brand,
  model: meters.model,
  area: areaRef,
  ipAddress: meters.ipAddress,
  port: meters.port,
  status: meters.status,
  firmware: meters.firmware,
  obisCodes: meters.obisCodes,
  lastSeen: meters.lastSeen,
  createdAt: meters.createdAt,
  updatedAt: meters.updatedAt,
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The list's filter as conditions on live meters (search is served by the trigram indexes of 0007). */
function listConditions(filter: MeterListFilter, scope: AccessScope): SQL[] {
  const conditions: SQL[] = [live];
  const inScope = scope.filter(meters.areaId);
  if (inScope) conditions.push(inScope);
  if (filter.status) conditions.push(eq(meters.status, filter.status));
  if (filter.areaId) conditions.push(eq(meters.areaId, filter.areaId));
  if (filter.brand) conditions.push(sql`lower(${meters.brand}) = lower(${filter.brand})`);
  if (filter.search) {
    const pattern = `%${escapeLike(filter.search)}%`;
    conditions.push(
      or(ilike(meters.meterNumber, pattern), ilike(meters.brand, pattern), ilike(meters.model, pattern))!,
    );
  }
  return conditions;
}

/**
 * A configured address means the meter should be polled promptly: the offline backoff (owned by polling)
 * is cleared whenever an operator changes status or address.
 */
const clearBackoff = { nextPollAt: null, consecutiveFailures: 0 } as const;

const STATUS_CHANGE_EVENT = 'status-change';

/** Row shape of the batch statements' status changes (json_build_object in SQL, hence strings). */
interface StatusChangeRow {
  meterId: string;
  meterNumber: string;
  areaId: string;
  previousStatus: MeterStatus;
  status: MeterStatus;
  lastSeen: string | null;
  changedAt: string;
}

/** json_agg of the status changes among an `updated` CTE's rows (meter_number order), '[]' when none. */
const STATUS_CHANGES_JSON = sql.raw(`coalesce((
  select json_agg(json_build_object('meterId', id, 'meterNumber', meter_number, 'areaId', area_id,
    'previousStatus', previous_status, 'status', status, 'lastSeen', last_seen, 'changedAt', updated_at)
    order by meter_number)
  from updated where previous_status is distinct from status), '[]'::json)`);

function statusChangesOf(rows: StatusChangeRow[], reason: string): MeterStatusChange[] {
  return rows.map((r) => ({
    ...r,
    reason,
    lastSeen: r.lastSeen === null ? null : new Date(r.lastSeen),
    changedAt: new Date(r.changedAt),
  }));
}

/** meter_events rows for the status changes among an `updated` CTE's rows, in the same statement. */
function insertStatusEvents(reason: string): SQL {
  return sql`insert into meter_events (meter_id, event_type, previous_status, status, reason)
    select id, ${STATUS_CHANGE_EVENT}, previous_status, status, ${reason}
    from updated where previous_status is distinct from status`;
}

/** How long a list's total estimate is reused, and for how many filters at most. */
export const ESTIMATE_TTL_MS = 10_000;
const ESTIMATES_MAX = 1_000;

/** One key per filter and scope (the same areas in any order are one scope). */
function estimateKey(filter: MeterListFilter, scope: AccessScope): string {
  return JSON.stringify([
    scope.areaIds ? [...scope.areaIds].sort() : null,
    filter.status ?? null,
    filter.areaId ?? null,
    filter.brand?.toLowerCase() ?? null,
    filter.search ?? null,
  ]);
}

@Injectable()
export class MetersRepository {
  /** Planner estimates of broad lists' totals (see countUpTo). */
  private readonly estimates = new LRUCache<string, number>({ max: ESTIMATES_MAX, ttl: ESTIMATE_TTL_MS });

  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async findLiveById(id: string, scope: AccessScope): Promise<Meter | undefined> {
    const [row] = await this.db
      .select()
      .from(meters)
      .where(and(eq(meters.id, id), live, scope.filter(meters.areaId)));
    return row;
  }

  async findLiveByNumber(meterNumber: string, scope: AccessScope): Promise<Meter | undefined> {
    const [row] = await this.db
      .select()
      .from(meters)
      .where(and(eq(meters.meterNumber, meterNumber), live, scope.filter(meters.areaId)));
    return row;
  }

  /**
   * The API view of a live meter in the scope, by id or by meter number, in one statement (a lookup and
   * then the view were two round trips, each a good part of a request's CPU).
   */
  async findLiveView(
    ref: { id: string } | { meterNumber: string },
    scope: AccessScope,
  ): Promise<MeterView | undefined> {
    const match = 'id' in ref ? eq(meters.id, ref.id) : eq(meters.meterNumber, ref.meterNumber);
    const [row] = await this.db
      .select(meterViewColumns)
      .from(meters)
      .innerJoin(areas, eq(areas.id, meters.areaId))
      .where(and(match, live, scope.filter(meters.areaId)));
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

  /**
   * One page of live meters in meter_number order: `after` (a meter number) continues after that meter
   * (keyset, cost independent of depth); otherwise `offset`. The page's ids are chosen on meters alone
   * (an index-only walk of (meter_number, id) when unfiltered) and only those rows are joined and read.
   *
   * The same statement counts the matches up to `countCap` + 1 (an uncorrelated subquery, run once), as
   * `matched`: null when the page is empty, since no row carries it then (countUpTo answers that case).
   */
  async list(
    filter: MeterListFilter,
    page: { offset: number; limit: number; after?: string },
    countCap: number,
    scope: AccessScope,
  ): Promise<{ rows: MeterView[]; matched: number | null }> {
    const conditions = listConditions(filter, scope);
    if (page.after !== undefined) conditions.push(gt(meters.meterNumber, page.after));
    const ids = this.db
      .select({ id: meters.id, meterNumber: meters.meterNumber })
      .from(meters)
      .where(and(...conditions))
      .orderBy(asc(meters.meterNumber))
      .offset(page.after !== undefined ? 0 : page.offset)
      .limit(page.limit)
      .as('page');
    const capped = this.matching(filter, scope).limit(countCap + 1);
    const rows = await this.db
      .select({
        ...meterViewColumns,
        matched: sql<number>`(select count(*) from (${capped}) as capped)`.mapWith(Number),
      })
      .from(ids)
      .innerJoin(meters, eq(meters.id, ids.id))
      .innerJoin(areas, eq(areas.id, meters.areaId))
      .orderBy(asc(ids.meterNumber));
    return {
      rows: rows.map(({ matched: _, ...view }) => view),
      matched: rows.length ? rows[0].matched : null,
    };
  }

  /** The live meters a list's filter selects (no order, no page). */
  private matching(filter: MeterListFilter, scope: AccessScope) {
    return this.db
      .select({ one: sql`1` })
      .from(meters)
      .where(and(...listConditions(filter, scope)));
  }

  /**
   * How many live meters match, counted exactly up to `cap`; beyond it, PostgreSQL's planner estimate
   * (never below cap + 1), so a broad filter never counts the whole fleet.
   */
  async countUpTo(
    filter: MeterListFilter,
    cap: number,
    scope: AccessScope,
  ): Promise<{ total: number; exact: boolean }> {
    const [{ n }] = await this.db.select({ n: count() }).from(
      this.matching(filter, scope)
        .limit(cap + 1)
        .as('capped'),
    );
    return this.totalOf(filter, n, cap, scope);
  }

  /**
   * The total of a list whose matches were counted up to cap + 1 (`counted`): exact up to cap, otherwise
   * the planner's row estimate (EXPLAIN without ANALYZE: nothing is read). The estimate is kept for
   * ESTIMATE_TTL_MS per filter and scope: it follows the planner's statistics, which change far more
   * slowly, and asking again was one more statement on every request of a broad list.
   */
  async totalOf(
    filter: MeterListFilter,
    counted: number,
    cap: number,
    scope: AccessScope,
  ): Promise<{ total: number; exact: boolean }> {
    if (counted <= cap) return { total: counted, exact: true };
    const key = estimateKey(filter, scope);
    let estimate = this.estimates.get(key);
    if (estimate === undefined) {
      const plan = await this.db.execute<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
        sql`explain (format json) ${this.matching(filter, scope)}`,
      );
      estimate = Math.round(plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
      this.estimates.set(key, estimate);
    }
    return { total: Math.max(estimate, cap + 1), exact: false };
  }

  async insert(meter: NewMeter): Promise<Meter> {
    const [row] = await this.db.insert(meters).values(meter).returning();
    return row;
  }

  /**
   * Updates a live meter in one transaction: the row is locked first, so the previous status is the one
   * replaced; a status change is recorded as a meter_events row (`reason`) in the same transaction and
   * returned for publishing after commit. undefined when the meter is not live.
   */
  async update(
    id: string,
    changes: Partial<NewMeter>,
    reason: string,
  ): Promise<{ meter: Meter; statusChange: MeterStatusChange | null } | undefined> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(meters)
        .where(and(eq(meters.id, id), live))
        .for('update');
      if (!current) return undefined;
      const addressOrStatusChanged =
        (changes.ipAddress !== undefined && changes.ipAddress !== current.ipAddress) ||
        (changes.port !== undefined && changes.port !== current.port) ||
        (changes.status !== undefined && changes.status !== current.status);
      const [meter] = await tx
        .update(meters)
        .set({ ...changes, ...(addressOrStatusChanged ? clearBackoff : {}), updatedAt: new Date() })
        .where(eq(meters.id, id))
        .returning();
      if (meter.status === current.status) return { meter, statusChange: null };
      await tx.insert(meterEvents).values({
        meterId: meter.id,
        eventType: STATUS_CHANGE_EVENT,
        previousStatus: current.status,
        status: meter.status,
        reason,
      });
      const statusChange: MeterStatusChange = {
        meterId: meter.id,
        meterNumber: meter.meterNumber,
        areaId: meter.areaId,
        previousStatus: current.status,
        status: meter.status,
        reason,
        lastSeen: meter.lastSeen,
        changedAt: meter.updatedAt,
      };
      return { meter, statusChange };
    });
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
   * the meters selected, modifiedCount those whose status, address or port actually changed. Each status
   * change gets its meter_events row (`reason`) in the same statement and is returned.
   */
  async enableAllOnline(
    config: OnlineConfiguration,
    reason: string,
    scope: AccessScope,
  ): Promise<BatchResult> {
    const inScope = scope.filter(meters.areaId);
    const result = await this.db.execute<{
      matched: number;
      modified: number;
      changes: StatusChangeRow[];
    }>(sql`
      with matched as (
        select ${meters.id} as id, ${meters.status} as previous_status,
               (${meters.status} <> ${config.status}::meter_status
                or ${meters.ipAddress} is distinct from ${config.ipAddress}
                or ${meters.port} is distinct from ${config.port}::int) as changed
        from ${meters}
        where ${meters.deletedAt} is null
          ${inScope ? sql`and ${inScope}` : sql``}
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
        returning m.id, m.meter_number, m.area_id, matched.previous_status, m.status, m.last_seen, m.updated_at
      ), events as (
        ${insertStatusEvents(reason)}
      )
      select (select count(*) from matched)::int as matched, (select count(*) from updated)::int as modified,
             ${STATUS_CHANGES_JSON} as changes`);
    const [row] = result.rows;
    return {
      matchedCount: Number(row.matched),
      modifiedCount: Number(row.modified),
      statusChanges: statusChangesOf(row.changes, reason),
    };
  }

  /**
   * Configures the given live meters (by id or meter number), all or nothing: when any reference matches
   * no live meter, nothing changes and the unmatched references are returned. Each status change gets its
   * meter_events row (`reason`) in the same transaction and is returned.
   */
  async configureOnline(
    ids: string[],
    meterNumbers: string[],
    config: OnlineConfiguration,
    reason: string,
    scope: AccessScope,
  ): Promise<BatchResult | { unmatchedIds: string[]; unmatchedNumbers: string[] }> {
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
            .where(and(live, scope.filter(meters.areaId), or(...byRef)))
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
      let statusChanges: MeterStatusChange[] = [];
      if (changed.length) {
        // The previous statuses come from the locked rows in the UPDATE's own statement.
        const result = await tx.execute<{ changes: StatusChangeRow[] }>(sql`
          with prev as (
            select ${meters.id} as id, ${meters.status} as status from ${meters}
            where ${inArray(meters.id, changed)}
            for update
          ), updated as (
            update ${meters} as m
            set status = ${config.status}::meter_status, ip_address = ${config.ipAddress}, port = ${config.port}::int,
                next_poll_at = null, consecutive_failures = 0, updated_at = now()
            from prev
            where m.id = prev.id
            returning m.id, m.meter_number, m.area_id, prev.status as previous_status, m.status, m.last_seen,
                      m.updated_at
          ), events as (
            ${insertStatusEvents(reason)}
          )
          select ${STATUS_CHANGES_JSON} as changes`);
        statusChanges = statusChangesOf(result.rows[0].changes, reason);
      }
      return { matchedCount: found.length, modifiedCount: changed.length, statusChanges };
    });
  }
}
