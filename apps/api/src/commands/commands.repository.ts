import {
  apiKeys,
  DRIZZLE,
  type Database,
  meterCommands,
  meters,
  users,
  type CommandStatus,
} from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { AuthUser } from '../auth/auth-user';

export interface NewCommandRecord {
  meterId: string;
  commandType: 'read' | 'write';
  obisCode: string | null;
  newValue: string | null;
  requestedBy: Pick<AuthUser, 'id' | 'kind'>;
  /** 'pending' while a worker has it; 'rejected' when refused before any meter was contacted. */
  status: Extract<CommandStatus, 'pending' | 'rejected'>;
  error?: string;
}

export interface CommandRecordRow {
  id: string;
  meterId: string;
  meterNumber: string;
  commandType: 'read' | 'write';
  obisCode: string | null;
  oldValue: string | null;
  newValue: string | null;
  status: CommandStatus;
  error: string | null;
  responseTimeMs: number | null;
  requestedById: string | null;
  requestedByUsername: string | null;
  requestedByKind: 'user' | 'api-key';
  requestedAt: Date;
  completedAt: Date | null;
}

/** The meter_commands audit trail, api side: records requests and lists them. Workers complete them. */
@Injectable()
export class CommandsRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async create(record: NewCommandRecord): Promise<string> {
    const rejected = record.status === 'rejected';
    const [row] = await this.db
      .insert(meterCommands)
      .values({
        meterId: record.meterId,
        commandType: record.commandType,
        obisCode: record.obisCode,
        newValue: record.newValue,
        requestedBy: record.requestedBy.kind === 'user' ? record.requestedBy.id : null,
        requestedByKey: record.requestedBy.kind === 'api-key' ? record.requestedBy.id : null,
        status: record.status,
        error: record.error ?? null,
        completedAt: rejected ? new Date() : null,
      })
      .returning({ id: meterCommands.id });
    return row.id;
  }

  /**
   * Marks a command failed only while it is still pending: a worker that finishes later still records
   * what really happened, which is the truth the audit trail must keep.
   */
  async failIfPending(id: string, error: string): Promise<void> {
    await this.db
      .update(meterCommands)
      .set({ status: 'failed', error, completedAt: new Date() })
      .where(and(eq(meterCommands.id, id), eq(meterCommands.status, 'pending')));
  }

  /** Newest first; uses the (meter_id, requested_at desc) index. */
  async listForMeter(
    meterId: string,
    page: number,
    limit: number,
  ): Promise<{ rows: CommandRecordRow[]; total: number }> {
    const [rows, [{ total }]] = await Promise.all([
      this.db
        .select({
          id: meterCommands.id,
          meterId: meterCommands.meterId,
          meterNumber: meters.meterNumber,
          commandType: meterCommands.commandType,
          obisCode: meterCommands.obisCode,
          oldValue: meterCommands.oldValue,
          newValue: meterCommands.newValue,
          status: meterCommands.status,
          error: meterCommands.error,
          responseTimeMs: meterCommands.responseTimeMs,
          requestedById: sql<
            string | null
          >`coalesce(${meterCommands.requestedBy}, ${meterCommands.requestedByKey})`,
          requestedByUsername: sql<string | null>`coalesce(${users.username}, ${apiKeys.name})`,
          requestedByKind: sql<
            'user' | 'api-key'
          >`case when ${meterCommands.requestedByKey} is null then 'user' else 'api-key' end`,
          requestedAt: meterCommands.requestedAt,
          completedAt: meterCommands.completedAt,
        })
        .from(meterCommands)
        .innerJoin(meters, eq(meters.id, meterCommands.meterId))
        .leftJoin(users, eq(users.id, meterCommands.requestedBy))
        .leftJoin(apiKeys, eq(apiKeys.id, meterCommands.requestedByKey))
        .where(eq(meterCommands.meterId, meterId))
        .orderBy(desc(meterCommands.requestedAt), desc(meterCommands.id))
        .limit(limit)
        .offset((page - 1) * limit),
      this.db.select({ total: count() }).from(meterCommands).where(eq(meterCommands.meterId, meterId)),
    ]);
    return { rows, total };
  }
}
