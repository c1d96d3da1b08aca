import { WorkerEnv } from '@app/config';
import { createReadPartition, DAY_MS, PG_POOL, readPartitionName, utcDayStart } from '@app/database';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';

/** Daily partitions are created ahead for today and this many following days. */
export const PARTITION_DAYS_AHEAD = 3;
/** Serialises maintenance across workers: a session-level advisory lock, held for one run. */
export const MAINTENANCE_LOCK_KEY = 0x6865_7331; // 'hes1'
/**
 * How long one step waits for a lock before it is left to the next run. Every lock maintenance takes on
 * meter_reads is SHARE UPDATE EXCLUSIVE, which inserts and queries never wait for; the bound only keeps a
 * run from hanging behind another DDL or a very long query.
 */
export const MAINTENANCE_LOCK_TIMEOUT_MS = 10_000;
/** Expired meter_events deleted per statement (each its own short transaction)... */
export const EVENT_DELETE_BATCH = 5_000;
/** ...and at most this many statements per run (1,000,000 rows); the next run continues. */
export const EVENT_DELETE_MAX_BATCHES = 200;
/** Expired audit_log rows deleted per statement (each its own transaction, the trigger allowing it)... */
export const AUDIT_DELETE_BATCH = 1_000;
/** ...and at most this many statements per run (100,000 rows); the next run continues. */
export const AUDIT_DELETE_MAX_BATCHES = 100;
const LOCK_NOT_AVAILABLE = '55P03';

export { readPartitionName as partitionName, utcDayStart };

/** The tables partitioned by UTC day, each partition named `<parent>_pYYYYMMDD`. */
export type DailyPartitionedParent = 'meter_reads' | 'load_profile_entries';

/** Day start (UTC ms) a partition name of `parent` stands for, or null when the name is not one of ours. */
export function partitionDay(name: string, parent: DailyPartitionedParent = 'meter_reads'): number | null {
  const m = /^(.+)_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m || m[1] !== parent) return null;
  const t = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]));
  return Number.isNaN(t) ? null : t;
}

/** Partitions whose whole day is older than the retention window (today − retentionDays). */
export function expiredPartitions(
  names: readonly string[],
  nowMs: number,
  retentionDays: number,
  parent: DailyPartitionedParent = 'meter_reads',
): string[] {
  const cutoff = utcDayStart(nowMs) - retentionDays * DAY_MS;
  return names.filter((n) => {
    const day = partitionDay(n, parent);
    return day !== null && day + DAY_MS <= cutoff;
  });
}

/** A table partitioned by UTC day, as maintenance sees it. */
export interface DailyPartitionedTable {
  parent: DailyPartitionedParent;
  partitionName(dayStart: number): string;
  /** Creates and attaches the day's partition; false when it already existed. */
  createPartition(client: PoolClient, dayStart: number): Promise<boolean>;
  retentionDays: number;
}

/** What maintenance did to a table's partitions, step by step. */
export interface PartitionSteps {
  created: string[];
  dropped: string[];
  /** Detaches left pending by an interrupted run, completed with DETACH ... FINALIZE. */
  finalized: string[];
  /** Steps that could not take their lock within MAINTENANCE_LOCK_TIMEOUT_MS; the next run retries them. */
  postponed: string[];
}

/**
 * The daily partition lifecycle of one table, never blocking writers: detaches left pending are finalized,
 * partitions for today..today+PARTITION_DAYS_AHEAD are created (plain table, key, ATTACH), and expired
 * ones are detached CONCURRENTLY, then dropped. Each step is its own statement; one that cannot get its
 * lock in time is postponed to the next run, and a run interrupted anywhere is completed by the next.
 */
export async function maintainDailyPartitions(
  client: PoolClient,
  table: DailyPartitionedTable,
  nowMs: number,
  report: PartitionSteps,
): Promise<void> {
  const before = await partitionTables(client, table.parent);
  for (const name of before.pending) {
    // Runs outside a transaction block, like the DETACH ... CONCURRENTLY it completes.
    if (await step(report, `finalize ${name}`, () => detach(client, table.parent, name, 'FINALIZE'))) {
      report.finalized.push(name);
    }
  }

  const today = utcDayStart(nowMs);
  const { attached, pending, loose } = await partitionTables(client, table.parent);
  for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) {
    const from = today + d * DAY_MS;
    const name = table.partitionName(from);
    if (attached.includes(name)) continue;
    if (loose.includes(name)) {
      report.postponed.push(`create ${name}: a table of that name exists but is not a partition`);
      continue;
    }
    let made = false;
    await step(report, `create ${name}`, async () => (made = await table.createPartition(client, from)));
    if (made) report.created.push(name);
  }

  // A detach still pending (its FINALIZE was postponed) is finished by a later run, never started again.
  const detachable = attached.filter((name) => !pending.includes(name));
  for (const name of expiredPartitions(detachable, nowMs, table.retentionDays, table.parent)) {
    const done = await step(report, `drop ${name}`, async () => {
      await detach(client, table.parent, name, 'CONCURRENTLY');
      await client.query(`DROP TABLE IF EXISTS "${name}"`);
    });
    if (done) report.dropped.push(name);
  }
  for (const name of expiredPartitions(loose, nowMs, table.retentionDays, table.parent)) {
    if (await step(report, `drop ${name}`, () => client.query(`DROP TABLE IF EXISTS "${name}"`))) {
      report.dropped.push(name);
    }
  }
}

/** Runs one step; a lock it could not get in time postpones it to the next run instead of failing the run. */
async function step(report: PartitionSteps, what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
    report.postponed.push(`${what}: ${(error as Error).message}`);
    return false;
  }
}

/** The partition tables of `parent`: attached ones, those with a detach pending, and loose ones. */
async function partitionTables(client: PoolClient, parent: DailyPartitionedParent): Promise<PartitionTables> {
  const { rows } = await client.query<{ name: string; attached: boolean; pending: boolean }>(
    `SELECT c.relname AS name, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
     FROM pg_class c
     LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = $1::regclass
     WHERE c.relkind = 'r' AND c.relname LIKE $2
       AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = $1::regclass)`,
    [parent, `${parent.replace(/_/g, '\\_')}\\_p%`],
  );
  const ours = rows.filter((r) => r.attached || partitionDay(r.name, parent) !== null);
  return {
    attached: ours.filter((r) => r.attached).map((r) => r.name),
    pending: ours.filter((r) => r.pending).map((r) => r.name),
    loose: ours.filter((r) => !r.attached).map((r) => r.name),
  };
}

async function detach(
  client: PoolClient,
  parent: DailyPartitionedParent,
  name: string,
  mode: 'CONCURRENTLY' | 'FINALIZE',
): Promise<void> {
  await client.query(`ALTER TABLE ${parent} DETACH PARTITION "${name}" ${mode}`);
}

export interface MaintenanceReport extends PartitionSteps {
  /** Expired audit_log rows deleted (AUDIT_RETENTION_DAYS). */
  deletedAuditEntries: number;
  /** False when another process held the maintenance lock (it is doing the same work). */
  ran: boolean;
  /** Status-change events older than the retention window, deleted with the reads they explain. */
  deletedEvents: number;
  /** DELETE statements that took them (at most EVENT_DELETE_BATCH rows each). */
  eventDeleteStatements: number;
  /** Meter alarms received before the retention window (any state), deleted the same way. */
  deletedAlarms: number;
}

interface PartitionTables {
  /** Attached partitions, and which of them have a detach pending. */
  attached: string[];
  pending: string[];
  /** Tables named like our partitions that are not attached (a detach finished, the drop did not). */
  loose: string[];
}

/**
 * Read history housekeeping, built so that it never blocks polling: daily partitions of meter_reads for
 * today..today+3 (UTC), each with its per-partition unique tick key; retention by detaching partitions
 * older than READINGS_RETENTION_DAYS CONCURRENTLY and then dropping them; expired meter events deleted in
 * small batches through their created_at index. No step holds an ACCESS EXCLUSIVE lock on meter_reads, and
 * every step is its own short transaction, so a run interrupted anywhere is completed by the next one.
 * Several workers may run it at once: a session-level advisory lock lets one do the work.
 */
@Injectable()
export class PartitionMaintenanceService {
  private readonly logger = new Logger(PartitionMaintenanceService.name);
  private readonly retentionDays: number;
  private readonly auditRetentionDays: number;
  private readonly readPartitions: DailyPartitionedTable;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    env: WorkerEnv,
  ) {
    this.retentionDays = env.READINGS_RETENTION_DAYS;
    this.auditRetentionDays = env.AUDIT_RETENTION_DAYS;
    this.readPartitions = {
      parent: 'meter_reads',
      partitionName: readPartitionName,
      createPartition: createReadPartition,
      retentionDays: this.retentionDays,
    };
  }

  async run(nowMs = Date.now()): Promise<MaintenanceReport> {
    const report: MaintenanceReport = {
      ran: false,
      created: [],
      dropped: [],
      finalized: [],
      deletedEvents: 0,
      eventDeleteStatements: 0,
      deletedAuditEntries: 0,
      deletedAlarms: 0,
      postponed: [],
    };
    report.ran = await underMaintenanceLock(this.pool, MAINTENANCE_LOCK_KEY, (client) =>
      this.maintain(client, nowMs, report),
    );
    if (
      report.created.length ||
      report.dropped.length ||
      report.finalized.length ||
      report.deletedEvents ||
      report.deletedAuditEntries
    ) {
      this.logger.log(
        `partitions: created [${report.created.join(', ')}], dropped [${report.dropped.join(', ')}], ` +
          `detaches finalized [${report.finalized.join(', ')}], expired meter events deleted ` +
          `${report.deletedEvents} in ${report.eventDeleteStatements} statements, expired audit entries ` +
          `deleted ${report.deletedAuditEntries}`,
      );
    }
    if (report.postponed.length) {
      this.logger.warn(`partition maintenance postponed to the next run: ${report.postponed.join('; ')}`);
    }
    return report;
  }

  private async maintain(client: PoolClient, nowMs: number, report: MaintenanceReport): Promise<void> {
    await maintainDailyPartitions(client, this.readPartitions, nowMs, report);

    const today = utcDayStart(nowMs);
    await this.deleteExpiredEvents(client, new Date(today - this.retentionDays * DAY_MS), report);
    await this.deleteExpiredAlarms(client, new Date(today - this.retentionDays * DAY_MS), report);
    await this.deleteExpiredAudit(client, new Date(nowMs - this.auditRetentionDays * DAY_MS), report);
  }

  /**
   * Deletes audit entries older than `cutoff` (AUDIT_RETENTION_DAYS), AUDIT_DELETE_BATCH per transaction.
   * audit_log refuses DELETE (migration 0006) except in a transaction that set hes.audit_retention, which
   * only this statement's transaction does.
   */
  private async deleteExpiredAudit(
    client: PoolClient,
    cutoff: Date,
    report: MaintenanceReport,
  ): Promise<void> {
    for (let batch = 0; batch < AUDIT_DELETE_MAX_BATCHES; batch++) {
      let deleted = 0;
      await client.query('BEGIN');
      try {
        await client.query(`SELECT set_config('hes.audit_retention', 'on', true)`);
        const { rowCount } = await client.query(
          `DELETE FROM audit_log WHERE id IN (
             SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT ${AUDIT_DELETE_BATCH})`,
          [cutoff],
        );
        deleted = rowCount ?? 0;
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      report.deletedAuditEntries += deleted;
      if (deleted < AUDIT_DELETE_BATCH) return;
    }
  }

  /** Deletes events older than `cutoff`, EVENT_DELETE_BATCH rows per statement through the created_at index. */
  private async deleteExpiredEvents(
    client: PoolClient,
    cutoff: Date,
    report: MaintenanceReport,
  ): Promise<void> {
    const { deleted, statements } = await deleteOlderInBatches(client, 'meter_events', 'created_at', cutoff);
    report.deletedEvents += deleted;
    report.eventDeleteStatements += statements;
  }

  /** Alarms received before `cutoff`, like events: batches through meter_alarms_received_idx, bounded per run. */
  private async deleteExpiredAlarms(
    client: PoolClient,
    cutoff: Date,
    report: MaintenanceReport,
  ): Promise<void> {
    report.deletedAlarms += (
      await deleteOlderInBatches(client, 'meter_alarms', 'received_at', cutoff)
    ).deleted;
  }
}

/**
 * Deletes the rows of `table` whose `column` is before `cutoff`, EVENT_DELETE_BATCH per statement (each its
 * own transaction, through the column's index), at most EVENT_DELETE_MAX_BATCHES statements per run.
 */
async function deleteOlderInBatches(
  client: PoolClient,
  table: string,
  column: string,
  cutoff: Date,
): Promise<{ deleted: number; statements: number }> {
  let deleted = 0;
  for (let statements = 1; statements <= EVENT_DELETE_MAX_BATCHES; statements++) {
    const { rowCount } = await client.query(
      `DELETE FROM ${table} WHERE id IN (
         SELECT id FROM ${table} WHERE ${column} < $1 ORDER BY ${column} LIMIT ${EVENT_DELETE_BATCH})`,
      [cutoff],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < EVENT_DELETE_BATCH) return { deleted, statements };
  }
  return { deleted, statements: EVENT_DELETE_MAX_BATCHES };
}

/**
 * Runs `work` on a dedicated connection holding the advisory lock `key`, with lock_timeout
 * MAINTENANCE_LOCK_TIMEOUT_MS; false, without running it, when another worker holds the lock. A connection
 * whose session may still hold the lock after an error is destroyed rather than reused: that frees it.
 */
export async function underMaintenanceLock(
  pool: Pool,
  key: number,
  work: (client: PoolClient) => Promise<void>,
): Promise<boolean> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      key,
    ]);
    if (!rows[0].locked) return false;
    try {
      await client.query(`SET lock_timeout = ${MAINTENANCE_LOCK_TIMEOUT_MS}`);
      await work(client);
    } finally {
      await client.query('RESET lock_timeout');
      await client.query('SELECT pg_advisory_unlock($1)', [key]);
    }
    return true;
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}
