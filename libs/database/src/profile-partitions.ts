import type { ClientBase } from 'pg';
import { DAY_MS, utcDayStart } from './read-partitions';

/**
 * The daily partitions of load_profile_entries, named and created like those of meter_reads (see
 * read-partitions.ts): used by maintenance (ahead of time) and by the profile store, which back-fills past
 * days that may have no partition (there is no default partition, so retention can detach concurrently).
 */
export const PROFILE_PARTITION_PREFIX = 'load_profile_entries_p';
const DUPLICATE_TABLE = '42P07';
const DUPLICATE_OBJECT = '42710';
/** Two sessions creating one table at once: the loser may trip over the catalog's unique index instead. */
const UNIQUE_VIOLATION = '23505';

/** `load_profile_entries_pYYYYMMDD` for the UTC day starting at `dayStartMs`. */
export function profilePartitionName(dayStartMs: number): string {
  return `${PROFILE_PARTITION_PREFIX}${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * Creates the partition of the UTC day holding `epochMs` unless it exists; returns whether it did. One short
 * transaction on a dedicated connection: a plain table with its primary key (the parent's key attaches to
 * it), a CHECK equal to the range (spares ATTACH its validation scan), then ATTACH, which takes SHARE UPDATE
 * EXCLUSIVE on the parent where CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE.
 */
export async function createProfilePartition(client: ClientBase, epochMs: number): Promise<boolean> {
  const fromMs = utcDayStart(epochMs);
  const name = profilePartitionName(fromMs);
  const from = new Date(fromMs).toISOString();
  const to = new Date(fromMs + DAY_MS).toISOString();
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
  if (rows[0].t !== null) return false;
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TABLE "${name}" (LIKE load_profile_entries INCLUDING DEFAULTS)`);
    await client.query(`ALTER TABLE "${name}" ADD PRIMARY KEY (meter_id, profile, captured_at)`);
    await client.query(
      `ALTER TABLE "${name}" ADD CONSTRAINT "${name}_range"
         CHECK (captured_at IS NOT NULL AND captured_at >= '${from}' AND captured_at < '${to}')`,
    );
    await client.query(
      `ALTER TABLE load_profile_entries ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
    await client.query(`ALTER TABLE "${name}" DROP CONSTRAINT "${name}_range"`);
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (error as { code?: string }).code;
    // Another session created it meanwhile.
    if (code === DUPLICATE_TABLE || code === DUPLICATE_OBJECT || code === UNIQUE_VIOLATION) return false;
    throw error;
  }
}
