import type { Pool, PoolClient } from 'pg';
import type { EncodedReadValues } from './readings-codec';

type Queryable = Pick<Pool | PoolClient, 'query'>;

/** Most layouts a process remembers; a fleet has a handful, so reaching this means something is off. */
export const READ_LAYOUT_CACHE_MAX = 10_000;

/**
 * Ids of read layouts by fingerprint, inserting the missing ones. Idempotent and safe under concurrency
 * (several workers meeting a new layout at once get the same id): the no-op update makes RETURNING give
 * the existing row. Fingerprints are de-duplicated and sorted so that concurrent calls lock rows in one
 * order.
 */
export async function upsertReadLayouts(
  db: Queryable,
  values: readonly Pick<EncodedReadValues, 'layout' | 'fingerprint'>[],
): Promise<Map<string, number>> {
  const unique = new Map(values.map((v) => [v.fingerprint, v.layout]));
  if (unique.size === 0) return new Map();
  const fingerprints = [...unique.keys()].sort();
  const { rows } = await db.query<{ id: number; fingerprint: string }>(
    `INSERT INTO read_layouts (fingerprint, codes, scalers, units)
     SELECT t.fingerprint, array(SELECT json_array_elements_text(t.layout -> 'codes')),
            array(SELECT (json_array_elements_text(t.layout -> 'scalers'))::smallint),
            array(SELECT json_array_elements_text(t.layout -> 'units'))
       FROM unnest($1::text[], $2::json[]) WITH ORDINALITY AS t(fingerprint, layout, ord)
      ORDER BY t.ord
     ON CONFLICT (fingerprint) DO UPDATE SET fingerprint = excluded.fingerprint
     RETURNING id, fingerprint`,
    [fingerprints, fingerprints.map((f) => JSON.stringify(unique.get(f)))],
  );
  return new Map(rows.map((r) => [r.fingerprint, r.id]));
}

/**
 * Resolves layout ids from memory, asking PostgreSQL (one statement for all the misses of a call) only
 * for layouts this process has not met yet, so storing reads costs no extra query in steady state.
 * Layout rows are never deleted, so a remembered id stays valid.
 */
export class ReadLayoutCache {
  private readonly ids = new Map<string, number>();

  constructor(private readonly max = READ_LAYOUT_CACHE_MAX) {}

  /** The layout id of each value (null for null), in order. */
  async resolve(db: Queryable, values: readonly (EncodedReadValues | null)[]): Promise<(number | null)[]> {
    const missing = values.filter((v): v is EncodedReadValues => v !== null && !this.ids.has(v.fingerprint));
    if (missing.length > 0) {
      const found = await upsertReadLayouts(db, missing);
      if (this.ids.size + found.size > this.max) this.ids.clear();
      for (const [fingerprint, id] of found) this.ids.set(fingerprint, id);
      return values.map((v) => (v ? (this.ids.get(v.fingerprint) ?? found.get(v.fingerprint)!) : null));
    }
    return values.map((v) => (v ? this.ids.get(v.fingerprint)! : null));
  }
}
