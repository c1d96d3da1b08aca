import { CommunicationStatus, MeterStatus, PolledMeter, ReadingType } from '@app/contracts';
import { createReadPartition, EncodedReadValues, PG_POOL, ReadLayoutCache, utcDayStart } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';

/** One poll attempt to store (a meter_reads row, and its effect on the meter). */
export interface ReadToStore {
  meterId: string;
  readAt: Date;
  readingType: ReadingType;
  /** Scheduled reads: the tick they answer (at most one record per meter and tick); null otherwise. */
  tickAt: Date | null;
  communicationStatus: CommunicationStatus;
  responseTimeMs: number;
  error: string | null;
  /** encodeReadValues() of the readings; null when there are none (a failed read). */
  values: EncodedReadValues | null;
  /** The meter clock minus the read's mid-exchange time (ms), when the read returned the clock. */
  clockDriftMs?: number | null;
}

/** What storing one read did, in the order of the reads given to storeReads. */
export interface StoredRead {
  /** False when the database already had this read (same meter and start, or same meter and tick). */
  stored: boolean;
  /** CLOCK_SYNC=auto: this read found the meter's clock beyond the limit and claimed its (rate-limited) sync. */
  clockSyncDue?: boolean;
  /** The meter after the read; absent when the meter row was left alone (deleted, or nothing stored). */
  meter?: MeterStateAfterRead;
}

/** How a stored read left its meter. */
export interface MeterStateAfterRead {
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
  /** METER_OFFLINE_BACKOFF_MAX_MS (never below the interval). */
  backoffMaxMs: number;
  /** `settings` key of the fleet-wide interval in force: the first backoff step. */
  intervalSettingKey: string;
  /** The first backoff step when that setting is missing (the api has not seeded it yet). */
  fallbackIntervalMs: number;
  /** CLOCK_SYNC=auto; CLOCK_DRIFT_MAX_S and CLOCK_SYNC_MIN_INTERVAL in ms. */
  clockSync?: { auto: boolean; maxDriftMs: number; minIntervalMs: number };
}

/** SQLSTATE of "no partition of relation meter_reads found for row". */
const NO_PARTITION_FOR_ROW = '23514';

/** Conditions of the polling set: pollable status, not deleted, has an address. */
const POLLABLE = `deleted_at IS NULL AND status IN ('online', 'offline') AND ip_address IS NOT NULL`;

const POLLED_METER_COLUMNS = `id, meter_number AS "meterNumber", ip_address AS "ipAddress", port,
  obis_codes AS "obisCodes", area_id AS "areaId", status, consecutive_failures AS "consecutiveFailures"`;

/**
 * Stores reads in one statement (one round trip, atomic):
 * - the read records; a read the database already has (same meter and start instant, or a second record
 *   for a meter and tick) is skipped by the unique indexes, so a retried store never stores twice;
 * - the current readings;
 * - the meters' status/backoff/lastSeen, with the PREVIOUS status read under the row lock (FOR UPDATE, in
 *   id order so concurrent stores cannot deadlock each other), from the row's own counters. A meter an
 *   operator changed after the read started (updated_at later than read_at) keeps the operator's status
 *   and backoff; lifecycle states (active/warehouse/faulty) are never overwritten; deleted meters are left
 *   alone. The backoff of an offline meter has jitter (half fixed, half random) so that meters that
 *   went dark together do not all come back on the same tick;
 * - a meter_events row per real status change.
 * Returns one row per input read (ord = its 1-based position).
 */
const STORE_READS_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::reading_type[], $4::timestamptz[], $5::text[],
                       $6::int[], $7::text[], $8::int[], $9::json[], $10::json[], $15::int[])
    WITH ORDINALITY AS t(meter_id, read_at, reading_type, tick_at, communication_status, response_time_ms, error,
                         layout_id, raw, qualities, clock_drift_ms, ord)
),
ins AS (
  INSERT INTO meter_reads (meter_id, read_at, reading_type, tick_at, communication_status, response_time_ms, error,
                           layout_id, raw, qualities)
  SELECT meter_id, read_at, reading_type, tick_at, communication_status::communication_status, response_time_ms,
         error, layout_id, raw, qualities
  FROM input
  ON CONFLICT DO NOTHING
  RETURNING meter_id, read_at
),
stored AS (
  SELECT i.* FROM input i JOIN ins USING (meter_id, read_at)
),
cur AS (
  INSERT INTO meter_current_readings (meter_id, read_at, reading_type, communication_status, response_time_ms,
                                      layout_id, raw, qualities)
  SELECT DISTINCT ON (meter_id) meter_id, read_at, reading_type, communication_status::communication_status,
         response_time_ms, layout_id, raw, qualities
  FROM stored
  WHERE communication_status <> 'failed' AND EXISTS (SELECT 1 FROM meters m WHERE m.id = stored.meter_id)
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
  SELECT DISTINCT ON (meter_id) meter_id, read_at, error, communication_status <> 'failed' AS ok, clock_drift_ms
  FROM stored ORDER BY meter_id, read_at DESC
),
locked AS (
  SELECT m.id, m.status AS previous_status, m.updated_at > o.read_at AS reconfigured,
         m.clock_sync_requested_at AS previous_sync
  FROM meters m JOIN outcome o ON o.meter_id = m.id
  WHERE m.deleted_at IS NULL
  ORDER BY m.id
  FOR UPDATE OF m
),
step AS (
  SELECT COALESCE((SELECT (value #>> '{}')::float8 FROM settings WHERE key = $14), $13::float8) AS ms
),
upd AS (
  UPDATE meters m SET
    consecutive_failures = CASE WHEN l.reconfigured THEN m.consecutive_failures
                                WHEN o.ok THEN 0 ELSE m.consecutive_failures + 1 END,
    status = CASE
      WHEN l.reconfigured OR m.status NOT IN ('online', 'offline') THEN m.status
      WHEN o.ok THEN 'online'::meter_status
      WHEN m.consecutive_failures + 1 >= $11 THEN 'offline'::meter_status
      ELSE m.status END,
    next_poll_at = CASE
      WHEN l.reconfigured THEN m.next_poll_at
      WHEN o.ok OR m.consecutive_failures + 1 < $11 OR m.status NOT IN ('online', 'offline') THEN NULL
      ELSE o.read_at + LEAST(step.ms * power(2, LEAST(m.consecutive_failures + 1 - $11, 40)),
                             GREATEST($12::float8, step.ms)) * (0.5 + random() / 2)
           * interval '1 millisecond' END,
    last_seen = CASE WHEN o.ok THEN GREATEST(m.last_seen, o.read_at) ELSE m.last_seen END,
    last_error = CASE WHEN l.reconfigured THEN m.last_error WHEN o.ok THEN NULL ELSE o.error END,
    clock_drift_ms = COALESCE(o.clock_drift_ms, m.clock_drift_ms),
    clock_checked_at = CASE WHEN o.clock_drift_ms IS NULL THEN m.clock_checked_at ELSE o.read_at END,
    -- CLOCK_SYNC=auto ($16): a clock beyond the limit ($17 ms) claims a sync, at most once per $18 ms.
    clock_sync_requested_at = CASE
      WHEN $16::boolean AND abs(o.clock_drift_ms) > $17::int
           AND (m.clock_sync_requested_at IS NULL
                OR m.clock_sync_requested_at < now() - $18::float8 * interval '1 millisecond')
      THEN now() ELSE m.clock_sync_requested_at END
  FROM outcome o, locked l, step
  WHERE m.id = o.meter_id AND l.id = m.id
  RETURNING m.id, m.meter_number, m.area_id, l.previous_status, m.status, m.last_seen, o.error,
            m.clock_sync_requested_at IS DISTINCT FROM l.previous_sync AS clock_sync_due
),
ev AS (
  INSERT INTO meter_events (meter_id, event_type, previous_status, status, reason)
  SELECT id, 'status-change', previous_status, status, COALESCE(error, 'meter answered')
  FROM upd WHERE previous_status IS DISTINCT FROM status
)
SELECT i.ord::int AS ord, s.meter_id IS NOT NULL AS stored, u.meter_number AS "meterNumber", u.area_id AS "areaId",
       u.previous_status AS "previousStatus", u.status, u.last_seen AS "lastSeen", u.error AS reason,
       u.clock_sync_due AS "clockSyncDue"
FROM input i
LEFT JOIN stored s ON s.ord = i.ord
LEFT JOIN upd u ON u.id = i.meter_id AND s.ord IS NOT NULL
ORDER BY i.ord`;

interface StoreRow extends Partial<MeterStateAfterRead> {
  ord: number;
  stored: boolean;
  clockSyncDue: boolean | null;
}

/** SQL of the poll path: which meters are due, claiming them for a tick, storing reads. */
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
   * Claims meters for the tick at `tickAt` (last_poll_at := tickAt) and returns them: meters not claimed
   * for this interval yet, and meters claimed for this very tick that have no stored record for it (the
   * batch is being run again: retried after an error, or taken over from a worker that died). A meter
   * claimed by another tick of this interval is not returned, so duplicate ticks read nothing twice.
   * With `pushSuppresses`, a meter whose last stored read was pushed within the interval before the tick
   * is not claimed either (PUSH_SUPPRESSES_POLL): it told us itself.
   */
  async claimForTick(
    meterIds: readonly string[],
    tickAt: Date,
    intervalMs: number,
    pushSuppresses = false,
  ): Promise<PolledMeter[]> {
    if (meterIds.length === 0) return [];
    const { rows } = await this.pool.query<PolledMeter>(
      `UPDATE meters m SET last_poll_at = $2
       WHERE id = ANY($1::uuid[]) AND ${POLLABLE}
         AND (last_poll_at IS NULL OR last_poll_at < $2::timestamptz - $3::float8 / 2 * interval '1 millisecond'
              OR (last_poll_at = $2 AND NOT EXISTS (
                    SELECT 1 FROM meter_reads r
                    WHERE r.meter_id = m.id AND r.tick_at = $2
                      AND r.read_at >= $2::timestamptz - $3::float8 * interval '1 millisecond')))
         AND NOT ($4::boolean AND EXISTS (
               SELECT 1 FROM meter_current_readings c
               WHERE c.meter_id = m.id AND c.reading_type = 'push'
                 AND c.read_at > $2::timestamptz - $3::float8 * interval '1 millisecond'))
       RETURNING ${POLLED_METER_COLUMNS}`,
      [meterIds, tickAt, intervalMs, pushSuppresses],
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

  /**
   * Stores reads (see STORE_READS_SQL). A read whose day has no partition yet (maintenance creates them
   * days ahead, so only a clock far off or maintenance not running for days) gets its partition created
   * here, and the statement runs again: a read is never refused for want of a partition.
   */
  async storeReads(reads: readonly ReadToStore[], rules: StatusRules): Promise<StoredRead[]> {
    try {
      return await this.storeReadsOnce(reads, rules);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION_FOR_ROW) throw err;
      await this.createPartitionsFor(reads);
      return this.storeReadsOnce(reads, rules);
    }
  }

  private async createPartitionsFor(reads: readonly ReadToStore[]): Promise<void> {
    const days = new Set(reads.map((r) => utcDayStart(r.readAt.getTime())));
    const client = await this.pool.connect();
    try {
      for (const day of days) await createReadPartition(client, day);
    } finally {
      client.release();
    }
  }

  private async storeReadsOnce(reads: readonly ReadToStore[], rules: StatusRules): Promise<StoredRead[]> {
    if (reads.length === 0) return [];
    const layoutIds = await this.layouts.resolve(
      this.pool,
      reads.map((r) => r.values),
    );
    const { rows } = await this.pool.query<StoreRow>(STORE_READS_SQL, [
      reads.map((r) => r.meterId),
      reads.map((r) => r.readAt),
      reads.map((r) => r.readingType),
      reads.map((r) => r.tickAt),
      reads.map((r) => r.communicationStatus),
      reads.map((r) => r.responseTimeMs),
      reads.map((r) => r.error),
      layoutIds,
      reads.map((r) => (r.values ? JSON.stringify(r.values.raw) : null)),
      reads.map((r) => (r.values?.qualities ? JSON.stringify(r.values.qualities) : null)),
      rules.offlineAfterFailures,
      rules.backoffMaxMs,
      rules.fallbackIntervalMs,
      rules.intervalSettingKey,
      reads.map((r) => r.clockDriftMs ?? null),
      rules.clockSync?.auto ?? false,
      rules.clockSync?.maxDriftMs ?? 0,
      rules.clockSync?.minIntervalMs ?? 0,
    ]);
    return rows.map((r) => ({
      stored: r.stored,
      ...(r.clockSyncDue ? { clockSyncDue: true } : {}),
      ...(r.status
        ? {
            meter: {
              meterNumber: r.meterNumber!,
              areaId: r.areaId!,
              previousStatus: r.previousStatus!,
              status: r.status,
              lastSeen: r.lastSeen ?? null,
              reason: r.reason ?? null,
            },
          }
        : {}),
    }));
  }
}
