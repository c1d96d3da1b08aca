import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, gte, like, lt, lte, type SQL } from 'drizzle-orm';
import { type AuditEntry, auditLog, type Database, DRIZZLE, type NewAuditEntry } from '@app/database';
import { isUuid } from '../common';

export interface AuditFilter {
  /** An actor id (user or key) or name. */
  actor?: string;
  target?: string;
  /** An action, or a prefix of one ending in `.` (e.g. `meter.`). */
  action?: string;
  from?: Date;
  to?: Date;
  /** Entries with an id below this (the previous page's `nextBefore`). */
  before?: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The append-only audit_log: inserts and reads only (the table refuses UPDATE and DELETE). */
@Injectable()
export class AuditRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  async insert(entry: NewAuditEntry): Promise<void> {
    await this.db.insert(auditLog).values(entry);
  }

  /** Newest first, `limit` at most, through the (at, id) index; keyset pagination by id. */
  async list(filter: AuditFilter, limit: number): Promise<AuditEntry[]> {
    const conditions: (SQL | undefined)[] = [];
    if (filter.actor) {
      conditions.push(
        isUuid(filter.actor)
          ? eq(auditLog.actorId, filter.actor.toLowerCase())
          : eq(auditLog.actorName, filter.actor),
      );
    }
    if (filter.target) conditions.push(eq(auditLog.targetId, filter.target));
    if (filter.action) {
      conditions.push(
        filter.action.endsWith('.')
          ? like(auditLog.action, `${escapeLike(filter.action)}%`)
          : eq(auditLog.action, filter.action),
      );
    }
    if (filter.from) conditions.push(gte(auditLog.at, filter.from));
    if (filter.to) conditions.push(lte(auditLog.at, filter.to));
    if (filter.before !== undefined) conditions.push(lt(auditLog.id, filter.before));
    return this.db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.id))
      .limit(limit);
  }
}
