import { PG_POOL } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

export interface ProfileEntryRow {
  capturedAt: Date;
  status: number;
  raw: (string | null)[];
  layoutId: number;
}

export interface ProfileLayoutRow {
  id: number;
  capturePeriodS: number;
  codes: string[];
  scalers: number[];
  units: string[];
}

export interface FleetCompletenessRow {
  meters: number;
  metersComplete: number;
  intervalsExpected: string;
  intervalsCollected: string;
  worst:
    { meterId: string; meterNumber: string; expected: number; collected: number; missing: number }[] | null;
}

export interface ClockDriftRow {
  meterId: string;
  meterNumber: string;
  driftMs: number;
  checkedAt: Date;
  syncRequestedAt: Date | null;
  checked: number;
  flagged: number;
}

/** The default capture period when a meter was never collected (15 minutes). */
export const DEFAULT_CAPTURE_PERIOD_S = 900;

/** Stored load profiles: entries of a meter, completeness counts, the fleet KPI, the clock drift report. */
@Injectable()
export class LoadProfilesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Entries with start ≤ captured_at < end, oldest first, at most `limit`. */
  async entries(
    meterId: string,
    profile: number,
    start: Date,
    end: Date,
    limit: number,
  ): Promise<ProfileEntryRow[]> {
    const { rows } = await this.pool.query<ProfileEntryRow>(
      `SELECT captured_at AS "capturedAt", status, raw::text[] AS raw, layout_id AS "layoutId"
       FROM load_profile_entries
       WHERE meter_id = $1 AND profile = $2 AND captured_at >= $3 AND captured_at < $4
       ORDER BY captured_at LIMIT $5`,
      [meterId, profile, start, end, limit],
    );
    return rows;
  }

  async layouts(ids: readonly number[]): Promise<ProfileLayoutRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<ProfileLayoutRow>(
      `SELECT id, capture_period_s AS "capturePeriodS", codes, scalers, units
       FROM load_profile_layouts WHERE id = ANY($1::int[])`,
      [ids],
    );
    return rows;
  }

  /** The meter's capture period as last collected (DEFAULT_CAPTURE_PERIOD_S before the first). */
  async capturePeriod(meterId: string, profile: number): Promise<number> {
    const { rows } = await this.pool.query<{ p: number }>(
      'SELECT capture_period_s AS p FROM load_profile_state WHERE meter_id = $1 AND profile = $2',
      [meterId, profile],
    );
    return rows[0]?.p ?? DEFAULT_CAPTURE_PERIOD_S;
  }

  /** Entries per UTC day (YYYY-MM-DD) in [start, end). */
  async countsPerDay(meterId: string, profile: number, start: Date, end: Date): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ day: string; n: number }>(
      `SELECT to_char(captured_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n
       FROM load_profile_entries
       WHERE meter_id = $1 AND profile = $2 AND captured_at >= $3 AND captured_at < $4
       GROUP BY 1`,
      [meterId, profile, start, end],
    );
    return new Map(rows.map((r) => [r.day, r.n]));
  }

  async areaId(ref: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM areas WHERE code = $1 OR id::text = $1 LIMIT 1',
      [ref],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * The day's KPI over the polled meters (online or offline) of the scope: expected capture instants per
   * meter in [start, end) by its own period (ceil(end/p) − ceil(start/p)), collected entries, and the worst
   * meters. One statement; the entries are counted through the primary key of the day's partition.
   */
  async fleetCompleteness(
    profile: number,
    start: Date,
    end: Date,
    areaId: string | null,
    areaIds: readonly string[] | null,
  ): Promise<FleetCompletenessRow> {
    const { rows } = await this.pool.query<FleetCompletenessRow>(
      `WITH scope AS (
         SELECT m.id, m.meter_number, COALESCE(s.capture_period_s, $5)::float8 AS p
         FROM meters m
         LEFT JOIN load_profile_state s ON s.meter_id = m.id AND s.profile = $1
         WHERE m.deleted_at IS NULL AND m.status IN ('online', 'offline')
           AND ($4::uuid IS NULL OR m.area_id = $4::uuid)
           AND ($6::uuid[] IS NULL OR m.area_id = ANY($6::uuid[]))
       ),
       counts AS (
         SELECT meter_id, count(*)::int AS n FROM load_profile_entries
         WHERE profile = $1 AND captured_at >= $2 AND captured_at < $3
         GROUP BY meter_id
       ),
       per_meter AS (
         SELECT s.id, s.meter_number,
                GREATEST(0, ceil(extract(epoch FROM $3::timestamptz) / s.p) - ceil(extract(epoch FROM $2::timestamptz) / s.p))::int AS expected,
                COALESCE(c.n, 0) AS collected
         FROM scope s LEFT JOIN counts c ON c.meter_id = s.id
       )
       SELECT count(*)::int AS meters,
              count(*) FILTER (WHERE collected >= expected)::int AS "metersComplete",
              COALESCE(sum(expected), 0)::text AS "intervalsExpected",
              COALESCE(sum(LEAST(collected, expected)), 0)::text AS "intervalsCollected",
              (SELECT json_agg(w) FROM (
                 SELECT id AS "meterId", meter_number AS "meterNumber", expected, collected,
                        GREATEST(0, expected - collected) AS missing
                 FROM per_meter WHERE collected < expected
                 ORDER BY expected - collected DESC, meter_number LIMIT ${10}) w) AS worst
       FROM per_meter`,
      [profile, start, end, areaId, DEFAULT_CAPTURE_PERIOD_S, areaIds],
    );
    return rows[0];
  }

  /** Meters with a known drift, worst first, with the totals (checked, flagged) on every row. */
  async clockDrift(
    maxDriftMs: number,
    areaId: string | null,
    areaIds: readonly string[] | null,
    limit: number,
  ): Promise<ClockDriftRow[]> {
    const { rows } = await this.pool.query<ClockDriftRow>(
      `SELECT id AS "meterId", meter_number AS "meterNumber", clock_drift_ms AS "driftMs",
              clock_checked_at AS "checkedAt", clock_sync_requested_at AS "syncRequestedAt",
              count(*) OVER ()::int AS checked,
              count(*) FILTER (WHERE abs(clock_drift_ms) > $1) OVER ()::int AS flagged
       FROM meters
       WHERE deleted_at IS NULL AND clock_drift_ms IS NOT NULL AND ($2::uuid IS NULL OR area_id = $2::uuid)
         AND ($4::uuid[] IS NULL OR area_id = ANY($4::uuid[]))
       ORDER BY abs(clock_drift_ms) DESC, meter_number
       LIMIT $3`,
      [maxDriftMs, areaId, limit, areaIds],
    );
    return rows;
  }
}
