import { DRIZZLE, type Database, obisCatalog, type ObisCatalogEntry } from '@app/database';
import type { ObisDefinition } from '@app/obis';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';

export interface ObisCatalogFilter {
  access?: 'R' | 'RW';
  isDefault?: boolean;
}

@Injectable()
export class ObisRepository {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  /**
   * Inserts or refreshes every definition in one statement. Rows already equal are left untouched, so
   * several api instances starting together neither conflict nor rewrite rows needlessly.
   */
  async upsertAll(definitions: readonly ObisDefinition[]): Promise<void> {
    if (definitions.length === 0) return;
    const excluded = (column: string) => sql.raw(`excluded.${column}`);
    await this.db
      .insert(obisCatalog)
      .values(
        definitions.map((d) => ({
          code: d.code,
          name: d.name,
          unit: d.unit,
          defaultScaler: d.defaultScaler,
          classId: d.classId,
          attribute: d.attribute,
          access: d.access,
          valueType: d.valueType,
          isDefault: d.isDefault,
          description: d.description ?? null,
        })),
      )
      .onConflictDoUpdate({
        target: obisCatalog.code,
        set: {
          name: excluded('name'),
          unit: excluded('unit'),
          defaultScaler: excluded('default_scaler'),
          classId: excluded('class_id'),
          attribute: excluded('attribute'),
          access: excluded('access'),
          valueType: excluded('value_type'),
          isDefault: excluded('is_default'),
          description: excluded('description'),
        },
        setWhere: sql`(${obisCatalog.name}, ${obisCatalog.unit}, ${obisCatalog.defaultScaler}, ${obisCatalog.classId},
          ${obisCatalog.attribute}, ${obisCatalog.access}, ${obisCatalog.valueType}, ${obisCatalog.isDefault},
          ${obisCatalog.description}) is distinct from (excluded.name, excluded.unit, excluded.default_scaler,
          excluded.class_id, excluded.attribute, excluded.access, excluded.value_type, excluded.is_default,
          excluded.description)`,
      });
  }

  list(filter: ObisCatalogFilter): Promise<ObisCatalogEntry[]> {
    const conditions: SQL[] = [];
    if (filter.access) conditions.push(eq(obisCatalog.access, filter.access));
    if (filter.isDefault !== undefined) conditions.push(eq(obisCatalog.isDefault, filter.isDefault));
    return this.db
      .select()
      .from(obisCatalog)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(obisCatalog.isDefault), asc(obisCatalog.code));
  }

  async findByCode(code: string): Promise<ObisCatalogEntry | undefined> {
    const [row] = await this.db.select().from(obisCatalog).where(eq(obisCatalog.code, code)).limit(1);
    return row;
  }
}
