import { PG_POOL } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';

/** A live meter as a push needs it. */
export interface PushTarget {
  id: string;
  meterNumber: string;
  areaId: string;
  /** Encrypted push secret; null when none was ever created (the meter cannot push). */
  secret: string | null;
}

/** SQL of meter push: looking meters up by number (in batches) and their secrets. */
@Injectable()
export class PushRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async findTargets(meterNumbers: readonly string[]): Promise<PushTarget[]> {
    const { rows } = await this.pool.query<PushTarget>(
      `SELECT m.id, m.meter_number AS "meterNumber", m.area_id AS "areaId", s.secret
       FROM meters m LEFT JOIN meter_push_secrets s ON s.meter_id = m.id
       WHERE m.meter_number = ANY($1::text[]) AND m.deleted_at IS NULL`,
      [meterNumbers],
    );
    return rows;
  }

  async saveSecret(meterId: string, encrypted: string, userId: string | null): Promise<void> {
    await this.pool.query(
      `INSERT INTO meter_push_secrets (meter_id, secret, rotated_by, rotated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (meter_id) DO UPDATE SET secret = excluded.secret, rotated_by = excluded.rotated_by,
         rotated_at = excluded.rotated_at`,
      [meterId, encrypted, userId],
    );
  }
}
