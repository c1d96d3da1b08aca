import type { ClientBase } from 'pg';

/**
 * The daily partitions of meter_reads: how one is named and created. One definition, used by partition
 * maintenance (ahead of time) and by anything that must store reads of a day without a partition (test
 * fixtures with historic reads, a future back-fill): there is no default partition to catch them.
 */
export const DAY_MS = 86_400_000;
/** duplicate_table, duplicate_object, unique_violation: another session created the partition first. */
const RACE_LOST = new Set(['42P07', '42710', '23505']);

/** `meter_reads_pYYYYMMDD` for the UTC day starting at `dayStartMs`. */
export function readPartitionName(dayStartMs: number): string {
  return `meter_reads_p${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export function utcDayStart(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS;
}

/** What differs between the daily-partitioned tables (meter_reads, load_profile_entries). */
export interface DailyPartitionSpec {
  parent: string;
  /** The partition key column (a timestamptz). */
  column: string;
  /** The partition's name for the UTC day starting at `dayStartMs`. */
  name: (dayStartMs: number) => string;
  /** The key every partition carries from the start (the parent's unique keys attach to it). */
  keyDdl: (name: string) => string;
}

/**
 * Creates the partition of the UTC day holding `epochMs`, with its key, unless it exists; returns whether it
 * created it. One short transaction on `client` (a dedicated connection, not a pool): a plain table, its
 * key, a CHECK equal to the range (spares the attach its validation scan), then ATTACH, which takes SHARE
 * UPDATE EXCLUSIVE on the parent where CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE and would stall
 * every insert while it waits. No partition ever exists without its key.
 */
export async function createDailyPartition(
  client: ClientBase,
  spec: DailyPartitionSpec,
  epochMs: number,
): Promise<boolean> {
  const fromMs = utcDayStart(epochMs);
  const name = spec.name(fromMs);
  const from = new Date(fromMs).toISOString();
  const to = new Date(fromMs + DAY_MS).toISOString();
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
  if (rows[0].t !== null) return false;
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TABLE "${name}" (LIKE ${spec.parent} INCLUDING DEFAULTS)`);
    await client.query(spec.keyDdl(name));
    await client.query(
      `ALTER TABLE "${name}" ADD CONSTRAINT "${name}_range"
         CHECK (${spec.column} IS NOT NULL AND ${spec.column} >= '${from}' AND ${spec.column} < '${to}')`,
    );
    await client.query(
      `ALTER TABLE ${spec.parent} ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
    await client.query(`ALTER TABLE "${name}" DROP CONSTRAINT "${name}_range"`);
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Another session created it meanwhile (the loser may trip over the catalog's unique index instead).
    if (RACE_LOST.has((error as { code?: string }).code ?? '')) return false;
    throw error;
  }
}

const READ_PARTITIONS: DailyPartitionSpec = {
  parent: 'meter_reads',
  column: 'read_at',
  name: readPartitionName,
  keyDdl: (name) =>
    `CREATE UNIQUE INDEX "${name}_meter_tick_key" ON "${name}" (meter_id, tick_at) WHERE tick_at IS NOT NULL`,
};

/** The meter_reads partition of the day holding `epochMs`, with its unique key on (meter_id, tick_at). */
export function createReadPartition(client: ClientBase, epochMs: number): Promise<boolean> {
  return createDailyPartition(client, READ_PARTITIONS, epochMs);
}
