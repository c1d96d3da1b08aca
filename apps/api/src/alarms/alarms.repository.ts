import type { AlarmSeverity, AlarmState, MeterStatus } from '@app/contracts';
import { PG_POOL } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';

export interface AlarmRow {
  id: string;
  meterId: string;
  meterNumber: string;
  areaId: string;
  alarm: string;
  severity: AlarmSeverity;
  state: AlarmState;
  raisedAt: Date;
  receivedAt: Date;
  details: Record<string, unknown> | null;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  clearedAt: Date | null;
}

/** A status change an alarm made (committed with its meter_events row). */
export interface AlarmStatusChange {
  previousStatus: MeterStatus;
  status: MeterStatus;
  lastSeen: Date | null;
  reason: string;
  changedAt: Date;
}

export interface RaisedAlarm {
  /** Null when the meter had already sent this alarm (same kind and time): nothing was changed. */
  alarm: AlarmRow | null;
  /** Alarms this one cleared (power-restored clears the meter's power failures). */
  cleared: AlarmRow[];
  statusChange: AlarmStatusChange | null;
}

export interface NewAlarm {
  meterId: string;
  alarm: string;
  severity: AlarmSeverity;
  raisedAt: Date;
  details: Record<string, unknown> | null;
  /** What the alarm does to the meter's status, if anything. */
  effect: 'power-failure' | 'power-restored' | null;
}

export interface AlarmFilter {
  /** The caller's areas (AccessScope.areaIds); null: fleet-wide. */
  areaIds: readonly string[] | null;
  state?: AlarmState;
  areaId?: string;
  /** A meter's id or number. */
  meter?: string;
}

/** Counting stops here: a page never costs a scan of the whole history. */
export const ALARM_COUNT_CAP = 10_000;

const COLUMNS = `a.id, a.meter_id AS "meterId", m.meter_number AS "meterNumber", m.area_id AS "areaId", a.alarm,
  a.severity, a.state, a.raised_at AS "raisedAt", a.received_at AS "receivedAt", a.details,
  coalesce(u.username, k.name) AS "acknowledgedBy", a.acknowledged_at AS "acknowledgedAt", a.cleared_at AS "clearedAt"`;
const FROM = `meter_alarms a JOIN meters m ON m.id = a.meter_id LEFT JOIN users u ON u.id = a.acknowledged_by
  LEFT JOIN api_keys k ON k.id = a.acknowledged_by_key`;

/**
 * Status effect of an alarm, under the meter's row lock (so the previous status is the one replaced). Only
 * polled states change: power-failure takes an online meter offline at once, power-restored brings an
 * offline one back; operator states (active/warehouse/faulty) are left alone. updated_at moves like an
 * operator's change, so a read that started before the alarm does not undo it.
 */
const STATUS_EFFECT_SQL = `
WITH locked AS (
  SELECT id, status AS previous_status FROM meters WHERE id = $1 AND deleted_at IS NULL FOR UPDATE
), upd AS (
  UPDATE meters m SET
    status = $2::meter_status,
    last_error = CASE WHEN $2::meter_status = 'offline' THEN $3::text ELSE NULL END,
    consecutive_failures = CASE WHEN $2::meter_status = 'online' THEN 0 ELSE m.consecutive_failures END,
    next_poll_at = NULL,
    last_seen = CASE WHEN $2::meter_status = 'online' THEN GREATEST(m.last_seen, $4::timestamptz) ELSE m.last_seen END,
    updated_at = now()
  FROM locked l
  WHERE m.id = l.id AND l.previous_status = ANY($5::meter_status[])
  RETURNING l.previous_status, m.status, m.last_seen, m.updated_at
), ev AS (
  INSERT INTO meter_events (meter_id, event_type, previous_status, status, reason)
  SELECT $1::uuid, 'status-change', previous_status, status, $3::text FROM upd
)
SELECT previous_status AS "previousStatus", status, last_seen AS "lastSeen", updated_at AS "changedAt" FROM upd`;

@Injectable()
export class AlarmsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Records an alarm and its effect on the meter in one transaction. */
  async raise(input: NewAlarm): Promise<RaisedAlarm> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await this.raiseIn(client, input);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async raiseIn(client: PoolClient, input: NewAlarm): Promise<RaisedAlarm> {
    const restored = input.effect === 'power-restored';
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO meter_alarms (meter_id, alarm, severity, state, raised_at, details, cleared_at)
       VALUES ($1, $2, $3::alarm_severity, $4::alarm_state, $5, $6, CASE WHEN $4::alarm_state = 'cleared' THEN now() END)
       ON CONFLICT (meter_id, alarm, raised_at) DO NOTHING RETURNING id`,
      // power-restored is a notice that ends a condition: it is recorded already cleared.
      [
        input.meterId,
        input.alarm,
        input.severity,
        restored ? 'cleared' : 'open',
        input.raisedAt,
        input.details,
      ],
    );
    const id = inserted.rows[0]?.id;
    if (!id) return { alarm: null, cleared: [], statusChange: null };

    let cleared: AlarmRow[] = [];
    let statusChange: AlarmStatusChange | null = null;
    if (input.effect === 'power-failure') {
      statusChange = await this.changeStatus(
        client,
        input.meterId,
        'offline',
        'power failure',
        input.raisedAt,
        ['online'],
      );
    } else if (restored) {
      const { rows } = await client.query<{ id: string }>(
        `UPDATE meter_alarms SET state = 'cleared', cleared_at = now()
         WHERE meter_id = $1 AND alarm = 'power-failure' AND state <> 'cleared' AND raised_at <= $2
         RETURNING id`,
        [input.meterId, input.raisedAt],
      );
      cleared = await this.findByIds(
        client,
        rows.map((r) => r.id),
      );
      statusChange = await this.changeStatus(
        client,
        input.meterId,
        'online',
        'power restored',
        input.raisedAt,
        ['offline'],
      );
    }
    const [alarm] = await this.findByIds(client, [id]);
    return { alarm, cleared, statusChange };
  }

  private async changeStatus(
    client: PoolClient,
    meterId: string,
    status: MeterStatus,
    reason: string,
    at: Date,
    from: MeterStatus[],
  ): Promise<AlarmStatusChange | null> {
    const { rows } = await client.query<Omit<AlarmStatusChange, 'reason'>>(STATUS_EFFECT_SQL, [
      meterId,
      status,
      reason,
      at,
      from,
    ]);
    return rows[0] ? { ...rows[0], reason } : null;
  }

  private async findByIds(client: PoolClient | Pool, ids: string[]): Promise<AlarmRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await client.query<AlarmRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE a.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows;
  }

  async findById(id: string): Promise<AlarmRow | undefined> {
    return (await this.findByIds(this.pool, [id]))[0];
  }

  /** The alarm when its meter is within `areaIds` (null: any). */
  async findInAreas(id: string, areaIds: readonly string[] | null): Promise<AlarmRow | undefined> {
    const alarm = await this.findById(id);
    return alarm && (!areaIds || areaIds.includes(alarm.areaId)) ? alarm : undefined;
  }

  /** Newest first; `total` is capped at ALARM_COUNT_CAP. */
  async list(filter: AlarmFilter, page: number, limit: number): Promise<{ rows: AlarmRow[]; total: number }> {
    const where: string[] = ['m.deleted_at IS NULL'];
    const params: unknown[] = [];
    if (filter.areaIds) where.push(`m.area_id = ANY($${params.push(filter.areaIds)}::uuid[])`);
    if (filter.state) where.push(`a.state = $${params.push(filter.state)}::alarm_state`);
    if (filter.areaId) where.push(`m.area_id = $${params.push(filter.areaId)}::uuid`);
    if (filter.meter) {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(filter.meter);
      where.push(
        uuid
          ? `a.meter_id = $${params.push(filter.meter.toLowerCase())}::uuid`
          : `m.meter_number = $${params.push(filter.meter)}`,
      );
    }
    const condition = where.join(' AND ');
    const [list, count] = await Promise.all([
      this.pool.query<AlarmRow>(
        `SELECT ${COLUMNS} FROM ${FROM} WHERE ${condition}
         ORDER BY a.received_at DESC, a.id LIMIT ${limit} OFFSET ${(page - 1) * limit}`,
        params,
      ),
      this.pool.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM (SELECT 1 FROM meter_alarms a JOIN meters m ON m.id = a.meter_id
         WHERE ${condition} LIMIT ${ALARM_COUNT_CAP}) capped`,
        params,
      ),
    ]);
    return { rows: list.rows, total: count.rows[0].total };
  }

  /** Open → acknowledged by a user or an API key; undefined when the alarm is not open (or does not exist). */
  async acknowledge(
    id: string,
    by: { userId: string | null; keyId: string | null },
  ): Promise<AlarmRow | undefined> {
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE meter_alarms SET state = 'acknowledged', acknowledged_by = $2, acknowledged_by_key = $3,
         acknowledged_at = now()
       WHERE id = $1 AND state = 'open' RETURNING id`,
      [id, by.userId, by.keyId],
    );
    return rows[0] ? this.findById(id) : undefined;
  }
}
