import { PG_POOL } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

export interface CommandCompletion {
  status: 'success' | 'failed';
  oldValue?: string | null;
  error?: string | null;
  responseTimeMs?: number | null;
}

/** The worker's side of the meter_commands audit trail: it completes what the api recorded. */
@Injectable()
export class CommandAuditRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Records the outcome. Unconditional on purpose: if the api already gave up waiting and marked the
   * command failed, what the meter really did (e.g. a write that did happen) still wins.
   */
  async complete(commandId: string, completion: CommandCompletion): Promise<void> {
    await this.pool.query(
      `update meter_commands
          set status = $2::command_status, old_value = coalesce($3, old_value), error = $4,
              response_time_ms = $5, completed_at = now()
        where id = $1`,
      [
        commandId,
        completion.status,
        completion.oldValue ?? null,
        completion.error ?? null,
        completion.responseTimeMs === undefined || completion.responseTimeMs === null
          ? null
          : Math.round(completion.responseTimeMs),
      ],
    );
  }

  /** Pending commands older than `olderThanMs` can no longer complete (their job is gone): failed. */
  async failAbandoned(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `update meter_commands
          set status = 'failed', error = 'abandoned: no worker result (worker stopped or job lost)',
              completed_at = now()
        where status = 'pending' and requested_at < now() - $1::float8 * interval '1 millisecond'`,
      [olderThanMs],
    );
    return rowCount ?? 0;
  }
}
