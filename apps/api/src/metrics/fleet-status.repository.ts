import { Database, DRIZZLE, meters } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { count, isNull } from 'drizzle-orm';

/** Meters by status (deleted ones excluded): one GROUP BY over the meters table, for hes_meters. */
@Injectable()
export class FleetStatusRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async countByStatus(): Promise<Array<{ status: string; meters: number }>> {
    return this.db
      .select({ status: meters.status, meters: count() })
      .from(meters)
      .where(isNull(meters.deletedAt))
      .groupBy(meters.status);
  }
}
