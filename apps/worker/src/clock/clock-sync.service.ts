import { WorkerEnv } from '@app/config';
import { COMMAND_JOBS, JOB_RETENTION, QUEUES, WriteCommandPayload } from '@app/contracts';
import { PG_POOL } from '@app/database';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { ReadStore } from '../polling/read-store';

export const CLOCK_CODE = '0-0:1.0.0.255';
/** A sync not sent within this long is dropped (the next read past the rate limit asks again). */
export const CLOCK_SYNC_DEADLINE_MS = 60_000;

/**
 * CLOCK_SYNC=auto: sets the clocks the read store found beyond CLOCK_DRIFT_MAX_S. The store already claimed
 * each sync in the statement that stored the read (meters.clock_sync_requested_at, at most once per
 * CLOCK_SYNC_MIN_INTERVAL per meter), so this only records the write in the audit trail (meter_commands,
 * requested by the system: requested_by null) and queues it on QUEUES.COMMAND like an operator's write;
 * the command processor sends the time of the moment it writes.
 */
@Injectable()
export class ClockSyncService implements OnModuleInit {
  private readonly logger = new Logger(ClockSyncService.name);
  private readonly auto: boolean;

  constructor(
    private readonly store: ReadStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @InjectQueue(QUEUES.COMMAND) private readonly queue: Queue,
    env: WorkerEnv,
  ) {
    this.auto = env.CLOCK_SYNC === 'auto';
  }

  onModuleInit(): void {
    if (!this.auto) return;
    this.store.onClockSyncDue((meterIds) => {
      this.sync(meterIds).catch((err: Error) =>
        this.logger.warn(`clock sync of ${meterIds.length} meter(s) not queued: ${err.message}`),
      );
    });
  }

  async sync(meterIds: readonly string[]): Promise<void> {
    const now = new Date();
    const { rows } = await this.pool.query<{ id: string; meterId: string }>(
      `INSERT INTO meter_commands (meter_id, command_type, obis_code, new_value, status)
       SELECT unnest($1::uuid[]), 'write', $2, $3, 'pending'
       RETURNING id, meter_id AS "meterId"`,
      [meterIds, CLOCK_CODE, now.toISOString()],
    );
    await this.queue.addBulk(
      rows.map((r) => ({
        name: COMMAND_JOBS.WRITE,
        data: {
          meterId: r.meterId,
          commandId: r.id,
          obisCode: CLOCK_CODE,
          value: now.toISOString(),
          requestedBy: 'clock-sync',
          notAfter: now.getTime() + CLOCK_SYNC_DEADLINE_MS,
          setClockToNow: true,
        } satisfies WriteCommandPayload,
        opts: { jobId: r.id, attempts: 1, ...JOB_RETENTION },
      })),
    );
    this.logger.log(`clock sync queued for ${rows.length} meter(s)`);
  }
}
