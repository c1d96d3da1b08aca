import { createHash } from 'node:crypto';
import { createProfilePartition, PG_POOL, utcDayStart } from '@app/database';
import type { ProfileCaptureObject, ProfileEntry } from '@app/meter-protocol';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';

/** A meter whose profile is to be collected, with where its collection stands. */
export interface ProfileTarget {
  id: string;
  meterNumber: string;
  ipAddress: string;
  port: number | null;
  /** Last entry stored for the profile; null before the first collection. */
  lastCapturedAt: Date | null;
}

/** The entries of one meter's collection, all of one layout. */
export interface ProfileBatch {
  meterId: string;
  profile: number;
  capturePeriodSec: number;
  captureObjects: ProfileCaptureObject[];
  entries: ProfileEntry[];
}

/** Entries per INSERT statement at most (bounded parameters and memory). */
export const PROFILE_STORE_MAX_ENTRIES = 10_000;
/** SQLSTATE of "no partition of relation ... found for row". */
const NO_PARTITION_FOR_ROW = '23514';
const LAYOUT_CACHE_MAX = 10_000;
/** Meters the collection may reach: live, polled, with an address. */
const COLLECTABLE = `m.deleted_at IS NULL AND m.status IN ('online', 'offline') AND m.ip_address IS NOT NULL`;

/**
 * Stores entries once per (meter, profile, capture instant): the primary key skips what is already there,
 * so a page read twice, a retried store or two workers collecting one meter store nothing twice. The
 * collection state (last entry, capture period) moves in the same statement. One statement for many meters.
 */
const STORE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::smallint[], $4::smallint[], $5::int[], $6::text[])
    AS t(meter_id, captured_at, profile, status, layout_id, raw)
),
ins AS (
  INSERT INTO load_profile_entries (meter_id, captured_at, profile, status, layout_id, raw)
  SELECT meter_id, captured_at, profile, status, layout_id, raw::bigint[] FROM input
  ON CONFLICT DO NOTHING
  RETURNING 1
),
st AS (
  INSERT INTO load_profile_state (meter_id, profile, capture_period_s, last_captured_at, last_collected_at)
  SELECT s.meter_id, s.profile, s.period, s.last, now()
  FROM unnest($7::uuid[], $8::smallint[], $9::int[], $10::timestamptz[]) AS s(meter_id, profile, period, last)
  WHERE EXISTS (SELECT 1 FROM meters m WHERE m.id = s.meter_id)
  ON CONFLICT (meter_id, profile) DO UPDATE SET
    capture_period_s = excluded.capture_period_s,
    last_captured_at = GREATEST(load_profile_state.last_captured_at, excluded.last_captured_at),
    last_collected_at = excluded.last_collected_at
)
SELECT count(*)::int AS stored FROM ins`;

/** SQL of the profile collection: which meters, where each stands, storing entries. */
@Injectable()
export class ProfileRepository {
  private readonly layouts = new Map<string, number>();

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Ids of collectable meters after `afterId` (keyset paging over the fleet), online ones only. */
  async findOnlineMeterIds(afterId: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM meters m WHERE ${COLLECTABLE} AND m.status = 'online'
         AND ($1::uuid IS NULL OR m.id > $1::uuid)
       ORDER BY m.id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => r.id);
  }

  async findTargets(meterIds: readonly string[], profile: number): Promise<ProfileTarget[]> {
    if (meterIds.length === 0) return [];
    const { rows } = await this.pool.query<ProfileTarget>(
      `SELECT m.id, m.meter_number AS "meterNumber", m.ip_address AS "ipAddress", m.port,
              s.last_captured_at AS "lastCapturedAt"
       FROM meters m
       LEFT JOIN load_profile_state s ON s.meter_id = m.id AND s.profile = $2
       WHERE m.id = ANY($1::uuid[]) AND ${COLLECTABLE}
       ORDER BY m.id`,
      [meterIds, profile],
    );
    return rows;
  }

  /**
   * Stores the batches (see STORE_SQL); returns the number of new entries. A meter that answered with no
   * new entry still has its collection time recorded.
   */
  async store(batches: readonly ProfileBatch[]): Promise<number> {
    if (batches.length === 0) return 0;
    try {
      return await this.storeOnce(batches);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION_FOR_ROW) throw err;
      await this.createPartitionsFor(batches);
      return this.storeOnce(batches);
    }
  }

  private async storeOnce(batches: readonly ProfileBatch[]): Promise<number> {
    const meterIds: string[] = [];
    const capturedAt: Date[] = [];
    const profiles: number[] = [];
    const statuses: number[] = [];
    const layoutIds: number[] = [];
    const raws: string[] = [];
    const state = {
      meterIds: [] as string[],
      profiles: [] as number[],
      periods: [] as number[],
      last: [] as (Date | null)[],
    };
    for (const b of batches) {
      const layoutId = await this.layoutId(b);
      let last = 0;
      for (const e of b.entries) {
        meterIds.push(b.meterId);
        capturedAt.push(new Date(e.capturedAt));
        profiles.push(b.profile);
        statuses.push(e.status);
        layoutIds.push(layoutId);
        raws.push(`{${e.values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`);
        if (e.capturedAt > last) last = e.capturedAt;
      }
      state.meterIds.push(b.meterId);
      state.profiles.push(b.profile);
      state.periods.push(b.capturePeriodSec);
      state.last.push(last > 0 ? new Date(last) : null);
    }
    const { rows } = await this.pool.query<{ stored: number }>(STORE_SQL, [
      meterIds,
      capturedAt,
      profiles,
      statuses,
      layoutIds,
      raws,
      state.meterIds,
      state.profiles,
      state.periods,
      state.last,
    ]);
    return rows[0]?.stored ?? 0;
  }

  /** The layout's id, from memory after the first meeting (layout rows are never deleted). */
  private async layoutId(b: ProfileBatch): Promise<number> {
    const layout = {
      period: b.capturePeriodSec,
      codes: b.captureObjects.map((o) => o.obisCode),
      scalers: b.captureObjects.map((o) => o.scaler),
      units: b.captureObjects.map((o) => o.unit),
    };
    const fingerprint = createHash('sha256').update(JSON.stringify(layout)).digest('base64url');
    const known = this.layouts.get(fingerprint);
    if (known !== undefined) return known;
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO load_profile_layouts (fingerprint, capture_period_s, codes, scalers, units)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
       RETURNING id`,
      [fingerprint, layout.period, layout.codes, layout.scalers, layout.units],
    );
    if (this.layouts.size >= LAYOUT_CACHE_MAX) this.layouts.clear();
    this.layouts.set(fingerprint, rows[0].id);
    return rows[0].id;
  }

  private async createPartitionsFor(batches: readonly ProfileBatch[]): Promise<void> {
    const days = new Set<number>();
    for (const b of batches) for (const e of b.entries) days.add(utcDayStart(e.capturedAt));
    const client = await this.pool.connect();
    try {
      for (const day of days) await createProfilePartition(client, day);
    } finally {
      client.release();
    }
  }
}
