import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ObisReadingValue } from '@app/contracts';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { Client } from 'pg';
import { decodeReadValues, encodeReadValues, type ReadLayout } from './readings-codec';
import type { StoredQualities, StoredRawValue } from './schema';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { migrate, MIGRATIONS_FOLDER } = require('../../../scripts/lib/migrate') as {
  migrate(url: string): Promise<void>;
  MIGRATIONS_FOLDER: string;
};

interface Journal {
  entries: { idx: number; tag: string }[];
}

/** Applies the committed migrations up to and including `lastTag`, from a copy of the folder. */
async function migrateUpTo(url: string, lastTag: string): Promise<void> {
  const journal = JSON.parse(
    await readFile(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'),
  ) as Journal;
  const upTo = journal.entries.slice(0, journal.entries.findIndex((e) => e.tag === lastTag) + 1);
  const folder = await mkdtemp(path.join(tmpdir(), 'hes-migrations-'));
  try {
    await mkdir(path.join(folder, 'meta'));
    await writeFile(
      path.join(folder, 'meta', '_journal.json'),
      JSON.stringify({ ...journal, entries: upTo }),
    );
    for (const e of upTo) {
      await copyFile(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`), path.join(folder, `${e.tag}.sql`));
    }
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await drizzleMigrate(drizzle(client), { migrationsFolder: folder });
    } finally {
      await client.end();
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const reading = (
  obisCode: string,
  rawValue: StoredRawValue,
  scaler: number | null,
  unit: string | null,
  quality: ObisReadingValue['quality'] = 'good',
): ObisReadingValue => ({ obisCode, name: null, rawValue, scaler, unit, value: null, quality });

/** The pre-0002 stored form: { "<obis>": [rawValue, scaler, unit, quality] }. */
const legacyForm = (readings: ObisReadingValue[]) =>
  Object.fromEntries(readings.map((r) => [r.obisCode, [r.rawValue, r.scaler, r.unit, r.quality]]));

describe('migrations (real PostgreSQL)', () => {
  let admin: Client;
  let db: Client;
  let name: string;
  let url: string;

  beforeAll(async () => {
    const base = process.env.HES_BASE_DATABASE_URL ?? process.env.DATABASE_URL;
    if (!base) throw new Error('no DATABASE_URL: run under the jest globalSetup');
    name = `hes_migrations_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const target = new URL(base);
    target.pathname = `/${name}`;
    url = target.toString();
    db = new Client({ connectionString: url });
    await db.connect();
    await migrateUpTo(url, '0001_polling');
  });

  afterAll(async () => {
    await db?.end();
    await admin?.query(`drop database if exists "${name}" with (force)`);
    await admin?.end();
  });

  it('0002 converts reads stored in the old form into layouts + raw values, losing nothing', async () => {
    const area = await db.query<{ id: string }>(
      `insert into areas (name, code) values ('Legacy', 'LGC') returning id`,
    );
    const meter = await db.query<{ id: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id)
       values ('LGC-1', 'three-phase', 'b', 'm', $1) returning id`,
      [area.rows[0].id],
    );
    const meterId = meter.rows[0].id;
    const good = [
      reading('1-0:32.7.0.255', 2301, -1, 'V'),
      reading('1-0:1.8.0.255', 12_345_678, 0, 'Wh'),
      reading('0-0:1.0.0.255', '2031-03-11T12:00:00.000Z', null, null),
      reading('0-0:96.1.0.255', 'LGC-1', null, null),
    ];
    const odd = [
      reading('1-0:32.7.0.255', 'junk', null, 'V', 'error'),
      reading('1-0:1.8.0.255', 12_345_999, 0, 'Wh', 'questionable'),
      reading('0-0:1.0.0.255', null, null, null, 'error'),
      reading('0-0:96.1.0.255', 'LGC-1', null, null),
    ];
    const insert = (table: string, readAt: string, status: string, values: object) =>
      db.query(
        `insert into ${table} (meter_id, read_at, reading_type, communication_status, response_time_ms, "values")
         values ($1, $2, 'scheduled', $3, 7, $4)`,
        [meterId, readAt, status, JSON.stringify(values)],
      );
    await insert('meter_reads', '2031-03-11T12:00:00Z', 'success', legacyForm(good));
    await insert('meter_reads', '2031-03-11T12:01:00Z', 'partial', legacyForm(odd));
    await insert('meter_reads', '2031-03-11T12:02:00Z', 'failed', {});
    await insert('meter_current_readings', '2031-03-11T12:01:00Z', 'partial', legacyForm(odd));

    await migrate(url);

    // 0004: the default partition is gone, and its rows moved into a day partition with its tick key.
    const where = await db.query<{ partition: string }>(
      'select distinct tableoid::regclass::text as partition from meter_reads',
    );
    expect(where.rows).toEqual([{ partition: 'meter_reads_p20310311' }]);
    expect((await db.query(`select to_regclass('meter_reads_default') as t`)).rows).toEqual([{ t: null }]);
    expect(
      (await db.query(`select 1 from pg_indexes where indexname = 'meter_reads_p20310311_meter_tick_key'`))
        .rowCount,
    ).toBe(1);

    const layouts = await db.query<ReadLayout & { id: number; fingerprint: string }>(
      'select id, fingerprint, codes, scalers, units from read_layouts',
    );
    // The same codes, units and scalers, except the voltage's scaler that the bad value lacks: two
    // layouts, with the fingerprints the worker computes (so it reuses them).
    expect(layouts.rows).toHaveLength(2);
    for (const l of layouts.rows) {
      const { layout, fingerprint } = encodeReadValues(
        l.codes.map((code, i) => reading(code, null, l.scalers[i], l.units[i])),
      )!;
      expect(l).toMatchObject({ fingerprint, ...layout });
    }
    const stored = async (table: string) =>
      (
        await db.query<{
          read_at: Date;
          layout: ReadLayout | null;
          raw: StoredRawValue[] | null;
          qualities: StoredQualities | null;
        }>(
          `select t.read_at, case when l.id is null then null
                  else json_build_object('codes', l.codes, 'scalers', l.scalers, 'units', l.units) end as layout,
                  t.raw, t.qualities
             from ${table} t left join read_layouts l on l.id = t.layout_id order by t.read_at`,
        )
      ).rows.map((r) =>
        decodeReadValues(r.layout, r.raw, r.qualities, () => null).sort((a, b) =>
          a.obisCode.localeCompare(b.obisCode),
        ),
      );
    const expected = (readings: ObisReadingValue[]) =>
      decodeReadValues(
        encodeReadValues(readings)!.layout,
        readings.map((r) => r.rawValue),
        Object.fromEntries(readings.flatMap((r, i) => (r.quality === 'good' ? [] : [[i, r.quality]]))),
        () => null,
      ).sort((a, b) => a.obisCode.localeCompare(b.obisCode));
    expect(await stored('meter_reads')).toEqual([expected(good), expected(odd), []]);
    expect(await stored('meter_current_readings')).toEqual([expected(odd)]);
    const columns = await db.query<{ table_name: string }>(
      `select table_name from information_schema.columns where column_name = 'values'
         and table_name in ('meter_reads', 'meter_current_readings')`,
    );
    expect(columns.rows).toEqual([]);
  });
});
