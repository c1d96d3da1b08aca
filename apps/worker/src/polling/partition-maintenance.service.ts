import { PG_POOL } from '@app/database';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Pool, PoolClient } from 'pg';

const DAY_MS = 86_400_000;
/** Daily partitions are created ahead for today and this many following days. */
export const PARTITION_DAYS_AHEAD = 3;
/** Serialises maintenance across workers (pg_advisory_xact_lock key). */
const MAINTENANCE_LOCK_KEY = 0x6865_7331; // 'hes1'
const PARTITION_NAME = /^meter_reads_p(\d{4})(\d{2})(\d{2})$/;

/** `meter_reads_pYYYYMMDD` for the UTC day starting at `dayStartMs`. */
export function partitionName(dayStartMs: number): string {
  return `meter_reads_p${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export function utcDayStart(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS;
}

/** Day start (UTC ms) a partition name stands for, or null when the name is not one of ours. */
export function partitionDay(name: string): number | null {
  const m = PARTITION_NAME.exec(name);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(t) ? null : t;
}

/** Partitions whose whole day is older than the retention window (today − retentionDays). */
export function expiredPartitions(names: readonly string[], nowMs: number, retentionDays: number): string[] {
  const cutoff = utcDayStart(nowMs) - retentionDays * DAY_MS;
  return names.filter((n) => {
    const day = partitionDay(n);
    return day !== null && day + DAY_MS <= cutoff;
  });
}

export interface MaintenanceReport {
  created: string[];
  dropped: string[];
  movedFromDefault: number;
  deletedFromDefault: number;
  /** Status-change events older than the retention window, deleted with the reads they explain. */
  deletedEvents: number;
}

/**
 * Read history housekeeping: daily partitions of meter_reads for today..today+3 (UTC), and retention by
 * dropping whole partitions older than READINGS_RETENTION_DAYS (plus expired rows that landed in the
 * default partition, and meter events of the same age). Safe to run from several workers at once (advisory lock) and repeatedly.
 */
@Injectable()
export class PartitionMaintenanceService {
  private readonly logger = new Logger(PartitionMaintenanceService.name);
  private readonly retentionDays: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    config: ConfigService,
  ) {
    this.retentionDays = Number(config.get('READINGS_RETENTION_DAYS') ?? 90);
  }

  async run(nowMs = Date.now()): Promise<MaintenanceReport> {
    const client = await this.pool.connect();
    const report: MaintenanceReport = {
      created: [],
      dropped: [],
      movedFromDefault: 0,
      deletedFromDefault: 0,
      deletedEvents: 0,
    };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MAINTENANCE_LOCK_KEY]);
      const existing = new Set(await this.partitionNames(client));
      const today = utcDayStart(nowMs);
      for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) {
        const from = today + d * DAY_MS;
        const name = partitionName(from);
        if (existing.has(name)) continue;
        report.movedFromDefault += await this.createPartition(client, name, from, from + DAY_MS);
        report.created.push(name);
      }
      for (const name of expiredPartitions([...existing], nowMs, this.retentionDays)) {
        await client.query(`DROP TABLE IF EXISTS "${name}"`);
        report.dropped.push(name);
      }
      const cutoff = new Date(today - this.retentionDays * DAY_MS);
      const deleted = await client.query('DELETE FROM meter_reads_default WHERE read_at < $1', [cutoff]);
      report.deletedFromDefault = deleted.rowCount ?? 0;
      const events = await client.query('DELETE FROM meter_events WHERE created_at < $1', [cutoff]);
      report.deletedEvents = events.rowCount ?? 0;
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (report.created.length || report.dropped.length || report.deletedFromDefault || report.deletedEvents) {
      this.logger.log(
        `partitions: created [${report.created.join(', ')}], dropped [${report.dropped.join(', ')}], ` +
          `rows moved from default ${report.movedFromDefault}, expired default rows deleted ${report.deletedFromDefault}, ` +
          `expired meter events deleted ${report.deletedEvents}`,
      );
    }
    return report;
  }

  private async partitionNames(client: PoolClient): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'meter_reads'`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * Creates the day's partition. Rows of that day already sitting in the default partition (written
   * before the partition existed) are moved into it first, since PostgreSQL refuses to attach otherwise.
   * Returns how many rows were moved.
   */
  private async createPartition(
    client: PoolClient,
    name: string,
    fromMs: number,
    toMs: number,
  ): Promise<number> {
    const from = new Date(fromMs).toISOString();
    const to = new Date(toMs).toISOString();
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM meter_reads_default WHERE read_at >= $1 AND read_at < $2',
      [from, to],
    );
    const stray = Number(rows[0].n);
    if (stray === 0) {
      await client.query(
        `CREATE TABLE "${name}" PARTITION OF meter_reads FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
      return 0;
    }
    await client.query(`CREATE TABLE "${name}" (LIKE meter_reads INCLUDING DEFAULTS)`);
    await client.query(
      `WITH moved AS (DELETE FROM meter_reads_default WHERE read_at >= $1 AND read_at < $2 RETURNING *)
       INSERT INTO "${name}" SELECT * FROM moved`,
      [from, to],
    );
    await client.query(
      `ALTER TABLE meter_reads ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
    return stray;
  }
}
