import { CommunicationStatus, MeterStatus, PolledMeter, ReadingType } from '@app/contracts';
import { EncodedReadValues, PG_POOL, ReadLayoutCache } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';

/** One poll attempt to store (a meter_reads row, and its effect on the meter). */
export interface ReadToStore {
  meterId: string;
  readAt: Date;
  communicationStatus: CommunicationStatus;
  responseTimeMs: number;
  error: string | null;
  /** encodeReadValues() of the readings; null when there are none (a failed read). */
  values: EncodedReadValues | null;
}

/** How a stored read changed its meter (one per meter whose row was updated). */
export interface MeterStateAfterRead {
  meterId: string;
  meterNumber: string;
  areaId: string;
  previousStatus: MeterStatus;
  status: MeterStatus;
  lastSeen: Date | null;
  reason: string | null;
}

export interface StatusRules {
  /** METER_OFFLINE_AFTER_FAILURES */
  offlineAfterFailures: number;
  /** METER_POLLING_INTERVAL: the first backoff step. */
  intervalMs: number;
  /** METER_OFFLINE_BACKOFF_MAX_MS (never below the interval). */
  backoffMaxMs: number;
}

/** Conditions of the polling set: pollable status, not deleted, has an address. */
const POLLABLE = `deleted_at IS NULL AND status IN ('online', 'offline') AND ip_address IS NOT NULL`;

const POLLED_METER_COLUMNS = `id, meter_number AS "meterNumber", ip_address AS "ipAddress", port,
  obis_codes AS "obisCodes", area_id AS "areaId", status, consecutive_failures AS "consecutiveFailures"`;

/**
 * Stores a batch of reads in one statement (one round trip, atomic): the read records, the current
 * readings, the meters' status/backoff/lastSeen (computed from the row's own counters, so concurrent
 * on-demand reads are accounted for), and a meter_events row per status change. Lifecycle states set
 * by operators (active/warehouse/faulty) are never overwritten; deleted meters are left alone.
 */
const STORE_READS_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::int[], $7::json[],
                       $8::json[])
    AS t(meter_id, read_at, communication_status, response_time_ms, error, layout_id, raw, qualities)
),
ins AS (
  INSERT INTO meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms, error,
                           layout_id, raw, qualities)
  SELECT meter_id, read_at, $9::reading_type, communication_status::communication_status, response_time_ms, error,
         layout_id, raw, qualities
  FROM input
),
cur AS (
  INSERT INTO meter_current_readings (meter_id, read_at, reading_type, communication_status, response_time_ms,
                                      layout_id, raw, qualities)
  SELECT DISTINCT ON (meter_id) meter_id, read_at, $9::reading_type, communication_status::communication_status,
         response_time_ms, layout_id, raw, qualities
  FROM input
  WHERE communication_status <> 'failed' AND EXISTS (SELECT 1 FROM meters m WHERE m.id = input.meter_id)
  ORDER BY meter_id, read_at DESC
  ON CONFLICT (meter_id) DO UPDATE SET
    read_at = excluded.read_at,
    reading_type = excluded.reading_type,
    communication_status = excluded.communication_status,
    response_time_ms = excluded.response_time_ms,
    layout_id = excluded.layout_id,
    raw = excluded.raw,
    qualities = excluded.qualities
  WHERE meter_current_readings.read_at <= excluded.read_at
),
outcome AS (
  SELECT DISTINCT ON (meter_id) meter_id, read_at, error, communication_status <> 'failed' AS ok
  FROM input ORDER BY meter_id, read_at DESC
),
upd AS (
  UPDATE meters m SET
    consecutive_failures = CASE WHEN o.ok THEN 0 ELSE m.consecutive_failures + 1 END,
    status = CASE
      WHEN m.status NOT IN ('online', 'offline') THEN m.status
      WHEN o.ok THEN 'online'::meter_status
      WHEN m.consecutive_failures + 1 >= $10 THEN 'offline'::meter_status
      ELSE m.status END,
    next_poll_at = CASE
      WHEN o.ok OR m.consecutive_failures + 1 < $10 OR m.status NOT IN ('online', 'offline') THEN NULL
      ELSE o.read_at + LEAST($11::float8 * power(2, LEAST(m.consecutive_failures + 1 - $10, 40)), $12::float8)
           * interval '1 millisecond' END,
    last_seen = CASE WHEN o.ok THEN GREATEST(m.last_seen, o.read_at) ELSE m.last_seen END,
    last_error = CASE WHEN o.ok THEN NULL ELSE o.error END
  FROM outcome o, meters old
  WHERE m.id = o.meter_id AND old.id = m.id AND m.deleted_at IS NULL
  RETURNING m.id, m.meter_number, m.area_id, old.status AS previous_status, m.status, m.last_seen, o.error
),
ev AS (
  INSERT INTO meter_events (meter_id, event_type, previous_status, status, reason)
  SELECT id, 'status-change', previous_status, status, COALESCE(error, 'meter answered')
  FROM upd WHERE previous_status IS DISTINCT FROM status
)
SELECT id AS "meterId", meter_number AS "meterNumber", area_id AS "areaId", previous_status AS "previousStatus",
       status, last_seen AS "lastSeen", error AS reason
FROM upd`;

@Injectable()
export class PollingRepository {
  /** Layout ids by fingerprint: after the first reads, storing a batch is still one statement. */
  private readonly layouts = new ReadLayoutCache();

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Ids of the slot's pollable meters that are due at `tickAt`. An offline meter's next_poll_at is
   * compared with half an interval of slack so that a backoff of k intervals skips exactly k−1 ticks.
   */
  async findDueMeterIds(
    bucketFrom: number,
    bucketTo: number,
    tickAt: Date,
    intervalMs: number,
  ): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM meters
       WHERE poll_bucket >= $1 AND poll_bucket < $2 AND ${POLLABLE}
         AND (next_poll_at IS NULL OR next_poll_at < $3::timestamptz + $4::float8 / 2 * interval '1 millisecond')
       ORDER BY poll_bucket, id`,
      [bucketFrom, bucketTo, tickAt, intervalMs],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Claims meters for the tick at `tickAt` (last_poll_at := tickAt) and returns them. A meter already
   * claimed for this interval (a repeated or retried batch, another worker) is not returned, which is
   * what makes "at most one scheduled poll per meter per interval" hold whatever BullMQ does.
   */
  async claimForTick(meterIds: readonly string[], tickAt: Date, intervalMs: number): Promise<PolledMeter[]> {
    if (meterIds.length === 0) return [];
    const { rows } = await this.pool.query<PolledMeter>(
      `UPDATE meters SET last_poll_at = $2
       WHERE id = ANY($1::uuid[]) AND ${POLLABLE}
         AND (last_poll_at IS NULL OR last_poll_at < $2::timestamptz - $3::float8 / 2 * interval '1 millisecond')
       RETURNING ${POLLED_METER_COLUMNS}`,
      [meterIds, tickAt, intervalMs],
    );
    return rows;
  }

  /** A live (not deleted) meter as the poll path needs it, whatever its status; null when unknown. */
  async findPolledMeter(meterId: string): Promise<PolledMeter | null> {
    const { rows } = await this.pool.query<PolledMeter>(
      `SELECT ${POLLED_METER_COLUMNS} FROM meters WHERE id = $1 AND deleted_at IS NULL`,
      [meterId],
    );
    return rows[0] ?? null;
  }

  async storeReads(
    reads: readonly ReadToStore[],
    readingType: ReadingType,
    rules: StatusRules,
  ): Promise<MeterStateAfterRead[]> {
    if (reads.length === 0) return [];
    const layoutIds = await this.layouts.resolve(
      this.pool,
      reads.map((r) => r.values),
    );
    const { rows } = await this.pool.query<MeterStateAfterRead>(STORE_READS_SQL, [
      reads.map((r) => r.meterId),
      reads.map((r) => r.readAt),
      reads.map((r) => r.communicationStatus),
      reads.map((r) => r.responseTimeMs),
      reads.map((r) => r.error),
      layoutIds,
      reads.map((r) => (r.values ? JSON.stringify(r.values.raw) : null)),
      reads.map((r) => (r.values?.qualities ? JSON.stringify(r.values.qualities) : null)),
      readingType,
      rules.offlineAfterFailures,
      rules.intervalMs,
      Math.max(rules.backoffMaxMs, rules.intervalMs),
    ]);
    return rows;
  }
}
