import { WorkerEnv } from '@app/config';
import { createProfilePartition, DAY_MS, PG_POOL, profilePartitionName, utcDayStart } from '@app/database';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { PARTITION_DAYS_AHEAD, underMaintenanceLock } from '../polling/partition-maintenance.service';

/** Serialises profile maintenance across workers (session-level advisory lock, one run at a time). */
export const PROFILE_MAINTENANCE_LOCK_KEY = 0x6865_7332; // 'hes2'
const PARTITION_NAME = /^load_profile_entries_p(\d{4})(\d{2})(\d{2})$/;
const LOCK_NOT_AVAILABLE = '55P03';

export interface ProfileMaintenanceReport {
  ran: boolean;
  created: string[];
  dropped: string[];
  postponed: string[];
}

function partitionDay(name: string): number | null {
  const m = PARTITION_NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/**
 * Housekeeping of load_profile_entries, the same way as meter_reads' (docs/polling.md "Maintenance never
 * blocks polling"): daily partitions created ahead for today..today+3 (plain table, key, ATTACH), expired
 * ones (older than PROFILE_RETENTION_DAYS) detached CONCURRENTLY then dropped, a detach left pending
 * finalized. No step takes an ACCESS EXCLUSIVE lock on the parent; a step that cannot get its lock within
 * MAINTENANCE_LOCK_TIMEOUT_MS is postponed to the next run.
 */
@Injectable()
export class ProfileMaintenanceService {
  private readonly logger = new Logger(ProfileMaintenanceService.name);
  private readonly retentionDays: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    env: WorkerEnv,
  ) {
    this.retentionDays = env.PROFILE_RETENTION_DAYS;
  }

  async run(nowMs = Date.now()): Promise<ProfileMaintenanceReport> {
    const report: ProfileMaintenanceReport = { ran: false, created: [], dropped: [], postponed: [] };
    report.ran = await underMaintenanceLock(this.pool, PROFILE_MAINTENANCE_LOCK_KEY, (client) =>
      this.maintain(client, nowMs, report),
    );
    if (report.created.length || report.dropped.length) {
      this.logger.log(
        `profile partitions: created [${report.created.join(', ')}], dropped [${report.dropped.join(', ')}]`,
      );
    }
    if (report.postponed.length)
      this.logger.warn(`profile maintenance postponed: ${report.postponed.join('; ')}`);
    return report;
  }

  private async maintain(client: PoolClient, nowMs: number, report: ProfileMaintenanceReport): Promise<void> {
    const { rows } = await client.query<{ name: string; attached: boolean; pending: boolean }>(
      `SELECT c.relname AS name, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
       FROM pg_class c
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'load_profile_entries'::regclass
       WHERE c.relkind = 'r' AND c.relname LIKE 'load\\_profile\\_entries\\_p%'
         AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'load_profile_entries'::regclass)`,
    );
    const ours = rows.filter((r) => partitionDay(r.name) !== null);
    for (const r of ours.filter((x) => x.pending)) {
      await this.step(report, `finalize ${r.name}`, () =>
        client.query(`ALTER TABLE load_profile_entries DETACH PARTITION "${r.name}" FINALIZE`),
      );
    }
    const today = utcDayStart(nowMs);
    for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) {
      const name = profilePartitionName(today + d * DAY_MS);
      let made = false;
      await this.step(
        report,
        `create ${name}`,
        async () => (made = await createProfilePartition(client, today + d * DAY_MS)),
      );
      if (made) report.created.push(name);
    }
    const cutoff = today - this.retentionDays * DAY_MS;
    for (const r of ours) {
      const day = partitionDay(r.name)!;
      if (day + DAY_MS > cutoff) continue;
      // A detach whose FINALIZE was postponed is still attached: dropping it would lock the parent.
      if (r.pending && report.postponed.some((p) => p.startsWith(`finalize ${r.name}:`))) continue;
      const done = await this.step(report, `drop ${r.name}`, async () => {
        if (r.attached && !r.pending) {
          await client.query(`ALTER TABLE load_profile_entries DETACH PARTITION "${r.name}" CONCURRENTLY`);
        }
        await client.query(`DROP TABLE IF EXISTS "${r.name}"`);
      });
      if (done) report.dropped.push(r.name);
    }
  }

  private async step(
    report: ProfileMaintenanceReport,
    what: string,
    fn: () => Promise<unknown>,
  ): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
      report.postponed.push(`${what}: ${(error as Error).message}`);
      return false;
    }
  }
}
