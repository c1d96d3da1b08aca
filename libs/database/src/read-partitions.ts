import type { ClientBase } from 'pg';

/**
 * The daily partitions of meter_reads: how one is named and created. One definition, used by partition
 * maintenance (ahead of time) and by anything that must store reads of a day without a partition (test
 * fixtures with historic reads, a future back-fill): there is no default partition to catch them.
 */
export const DAY_MS = 86_400_000;
const DUPLICATE_TABLE = '42P07';

/** `meter_reads_pYYYYMMDD` for the UTC day starting at `dayStartMs`. */
export function readPartitionName(dayStartMs: number): string {
  return `meter_reads_p${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export function utcDayStart(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS;
}

/**
 * Creates the partition of the UTC day holding `epochMs`, with its per-partition unique key on
 * (meter_id, tick_at), unless it exists; returns whether it created it. One short transaction on `client`
 * (a dedicated connection, not a pool): a plain table, a CHECK equal to the range (spares the attach its
 * validation scan), the key, then ATTACH, which takes SHARE UPDATE EXCLUSIVE on meter_reads where CREATE
 * TABLE ... PARTITION OF takes ACCESS EXCLUSIVE and would stall every insert while it waits. No partition
 * ever exists without its key.
 */
export async function createReadPartition(client: ClientBase, epochMs: number): Promise<boolean> {
  const fromMs = utcDayStart(epochMs);
  const name = readPartitionName(fromMs);
  const from = new Date(fromMs).toISOString();
  const to = new Date(fromMs + DAY_MS).toISOString();
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
  if (rows[0].t !== null) return false;
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TABLE "${name}" (LIKE meter_reads INCLUDING DEFAULTS)`);
    await client.query(
      `ALTER TABLE "${name}" ADD CONSTRAINT "${name}_range"
         CHECK (read_at IS NOT NULL AND read_at >= '${from}' AND read_at < '${to}')`,
    );
    await client.query(
      `CREATE UNIQUE INDEX "${name}_meter_tick_key" ON "${name}" (meter_id, tick_at) WHERE tick_at IS NOT NULL`,
    );
    await client.query(
      `ALTER TABLE meter_reads ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
    await client.query(`ALTER TABLE "${name}" DROP CONSTRAINT "${name}_range"`);
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Another session created it meanwhile.
    if ((error as { code?: string }).code === DUPLICATE_TABLE) return false;
    throw error;
  }
}
