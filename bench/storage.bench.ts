/**
 * Read storage cost: bytes per poll. Reads BENCH_METERS simulated meters (the 17 default codes, both
 * response formats) BENCH_POLLS times over loopback, stores every poll through the worker's real
 * PollingRepository (compact form: layout id + raw values), and stores the same polls in the previous
 * form ({ "<obis>": [raw, scaler, unit, quality] } jsonb) in a table shaped like the old meter_reads, for
 * comparison. Its own PostgreSQL database and Redis logical db (as a jest run gets).
 *
 *   npm run bench:storage
 *   BENCH_METERS=500 BENCH_POLLS=20 npm run bench:storage
 *
 * Figures, per successful 17-code poll: avg pg_column_size of the values and of the whole row, and heap +
 * index bytes of the table divided by the rows (after VACUUM), what 100k meters polled each minute cost
 * per day. Failed polls are measured apart (no values).
 */
import { MeterAddressPolicy } from '@app/meter-network';
import { createReadPartition, encodeReadValues } from '@app/database';
import { createMeterTransport } from '@app/meter-protocol';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import { Pool } from 'pg';
import { startSimulator } from '../apps/simulator/src/simulator';
import { PollingRepository, type ReadToStore } from '../apps/worker/src/polling/polling.repository';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';

const num = (name: string, fallback: number, max: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be 1..${max}`);
  return value;
};

const METERS = num('BENCH_METERS', 200, 5000);
const POLLS = num('BENCH_POLLS', 10, 1000);
const POLLS_PER_DAY = 100_000 * 24 * 60;

/** meter_reads as migration 0001 created it, values in the previous jsonb form. */
const LEGACY_TABLE = `
create table legacy_meter_reads (
  id bigserial not null,
  meter_id uuid not null,
  read_at timestamptz not null,
  reading_type reading_type not null,
  communication_status communication_status not null,
  response_time_ms integer not null,
  error text,
  "values" jsonb not null default '{}'::jsonb
);
create index legacy_meter_reads_meter_time_idx on legacy_meter_reads (meter_id, read_at desc)`;

interface Sizes {
  rows: number;
  values: number;
  row: number;
}

async function rowSizes(pool: Pool, table: string, valuesExpr: string, where: string): Promise<Sizes> {
  const { rows } = await pool.query<Sizes>(
    `select count(*)::int as rows, coalesce(avg(${valuesExpr}), 0)::float8 as values,
            coalesce(avg(pg_column_size(r.*)), 0)::float8 as row
       from ${table} r where ${where}`,
  );
  return rows[0];
}

/** Heap + indexes + toast of a table (of its partitions, for a partitioned one). */
async function diskBytes(pool: Pool, table: string): Promise<{ heap: number; indexes: number }> {
  const { rows } = await pool.query<{ heap: string; indexes: string }>(
    `select sum(pg_relation_size(c.oid) + coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::bigint as heap,
            sum(pg_indexes_size(c.oid))::bigint as indexes
       from pg_class c
      where c.oid = $1::regclass or c.oid in (select inhrelid from pg_inherits where inhparent = $1::regclass)`,
    [table],
  );
  return { heap: Number(rows[0].heap), indexes: Number(rows[0].indexes) };
}

const f0 = (n: number) => n.toFixed(0).padStart(6);
const gbPerDay = (bytesPerPoll: number) => `${((bytesPerPoll * POLLS_PER_DAY) / 1e9).toFixed(0)} GB/day`;

async function main(): Promise<void> {
  await globalSetup();
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  const sim = await startSimulator({
    meters: METERS,
    format: 'mixed',
    seed: 29,
    prefix: 'BST',
    log: () => {},
  });
  const transport = createMeterTransport('undici', {
    timeoutMs: 5000,
    maxResponseBytes: 64 * 1024,
    addressPolicy: MeterAddressPolicy.parse('127.0.0.0/8', '1024-65535'),
  });
  try {
    await pool.query(LEGACY_TABLE);
    const area = await pool.query<{ id: string }>(
      `insert into areas (name, code) values ('Storage bench', 'BST') returning id`,
    );
    const { rows: meters } = await pool.query<{ id: string; meter_number: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
       select n, 'three-phase', 'b', 'm', $1, $2, $3, 'online' from unnest($4::text[]) as n
       returning id, meter_number`,
      [
        area.rows[0].id,
        new URL(sim.gatewayUrl).hostname,
        Number(new URL(sim.gatewayUrl).port),
        sim.meters.map((m) => m.meterNumber),
      ],
    );
    const gateway = new URL(sim.gatewayUrl);
    const repository = new PollingRepository(pool);
    const rules = {
      offlineAfterFailures: 3,
      fallbackIntervalMs: 60_000,
      backoffMaxMs: 900_000,
      intervalSettingKey: 'storage-bench',
    };
    const start = Date.now() - POLLS * 60_000;
    // Reads live in daily partitions (no default partition); the first polls may fall on yesterday.
    const ddl = await pool.connect();
    try {
      await createReadPartition(ddl, start);
    } finally {
      ddl.release();
    }

    for (let poll = 0; poll < POLLS; poll++) {
      const readAt = new Date(start + poll * 60_000);
      const results = await Promise.all(
        meters.map((m) =>
          transport.read(
            { ipAddress: gateway.hostname, port: Number(gateway.port), meterNumber: m.meter_number },
            DEFAULT_OBIS_CODES,
          ),
        ),
      );
      const reads: ReadToStore[] = results.map((r, i) => ({
        meterId: meters[i].id,
        readAt,
        readingType: 'scheduled',
        tickAt: readAt,
        communicationStatus: r.communicationStatus,
        responseTimeMs: r.responseTime,
        error: r.error ?? null,
        values: encodeReadValues(r.readings),
      }));
      // One failed poll per meter in the last round, to show what a failure costs.
      if (poll === POLLS - 1) {
        for (const r of reads)
          Object.assign(r, { communicationStatus: 'failed', error: 'timeout', values: null });
      }
      await repository.storeReads(reads, rules);
      await pool.query(
        `insert into legacy_meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms, error, "values")
         select m, t, 'scheduled', s::communication_status, rt, e, v
           from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::jsonb[]) as x(m, t, s, rt, e, v)`,
        [
          reads.map((r) => r.meterId),
          reads.map((r) => r.readAt),
          reads.map((r) => r.communicationStatus),
          reads.map((r) => r.responseTimeMs),
          reads.map((r) => r.error),
          results.map((r, i) =>
            JSON.stringify(
              reads[i].values
                ? Object.fromEntries(
                    r.readings.map((v) => [v.obisCode, [v.rawValue, v.scaler, v.unit, v.quality]]),
                  )
                : {},
            ),
          ),
        ],
      );
    }
    await pool.query('vacuum analyze legacy_meter_reads');
    await pool.query('vacuum analyze meter_reads');

    const okWhere = `communication_status = 'success'`;
    const failedWhere = `communication_status = 'failed'`;
    const before = await rowSizes(pool, 'legacy_meter_reads', `pg_column_size("values")`, okWhere);
    const after = await rowSizes(
      pool,
      'meter_reads',
      `pg_column_size(raw) + coalesce(pg_column_size(qualities), 0) + pg_column_size(layout_id)`,
      okWhere,
    );
    const beforeFailed = await rowSizes(pool, 'legacy_meter_reads', `pg_column_size("values")`, failedWhere);
    const afterFailed = await rowSizes(pool, 'meter_reads', `0`, failedWhere);
    const total = (await pool.query<{ n: number }>('select count(*)::int as n from meter_reads')).rows[0].n;
    const diskBefore = await diskBytes(pool, 'legacy_meter_reads');
    const diskAfter = await diskBytes(pool, 'meter_reads');
    const layouts = (await pool.query<{ n: number }>('select count(*)::int as n from read_layouts')).rows[0]
      .n;

    console.log(
      `${METERS} meters × ${POLLS} polls (${total} rows; ${after.rows} successful 17-code polls, ` +
        `${afterFailed.rows} failed), ${layouts} read layouts`,
    );
    console.log('                          values    row   heap+idx/row  at 100k meters/min (row)');
    const line = (label: string, s: Sizes, disk?: { heap: number; indexes: number }) =>
      console.log(
        `${label.padEnd(24)} ${f0(s.values)} ${f0(s.row)}   ${disk ? f0((disk.heap + disk.indexes) / total) : '     -'}        ${gbPerDay(s.row)}`,
      );
    line('before (jsonb by code)', before, diskBefore);
    line('after (layout + raw)', after, diskAfter);
    line('before, failed poll', beforeFailed);
    line('after, failed poll', afterFailed);
    console.log(
      `row size ÷ ${(before.row / after.row).toFixed(2)}, values ÷ ${(before.values / after.values).toFixed(2)}; ` +
        `heap ${diskBefore.heap} → ${diskAfter.heap} B, indexes ${diskBefore.indexes} → ${diskAfter.indexes} B`,
    );
  } finally {
    await transport.close();
    await sim.stop();
    await pool.end();
    await globalTeardown();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
