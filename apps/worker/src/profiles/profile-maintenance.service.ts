import { WorkerEnv } from '@app/config';
import { createProfilePartition, PG_POOL, profilePartitionName } from '@app/database';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import {
  DailyPartitionedTable,
  maintainDailyPartitions,
  PartitionSteps,
  underMaintenanceLock,
} from '../polling/partition-maintenance.service';

/** Serialises profile maintenance across workers (session-level advisory lock, one run at a time). */
export const PROFILE_MAINTENANCE_LOCK_KEY = 0x6865_7332; // 'hes2'

export interface ProfileMaintenanceReport extends PartitionSteps {
  ran: boolean;
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
  private readonly profilePartitions: DailyPartitionedTable;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    env: WorkerEnv,
  ) {
    this.profilePartitions = {
      parent: 'load_profile_entries',
      partitionName: profilePartitionName,
      createPartition: createProfilePartition,
      retentionDays: env.PROFILE_RETENTION_DAYS,
    };
  }

  async run(nowMs = Date.now()): Promise<ProfileMaintenanceReport> {
    const report: ProfileMaintenanceReport = {
      ran: false,
      created: [],
      dropped: [],
      finalized: [],
      postponed: [],
    };
    report.ran = await underMaintenanceLock(this.pool, PROFILE_MAINTENANCE_LOCK_KEY, (client) =>
      maintainDailyPartitions(client, this.profilePartitions, nowMs, report),
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
}
