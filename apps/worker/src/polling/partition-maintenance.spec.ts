import { createScratchDatabase, type ScratchDatabase } from '@app/testing';
import type { ConfigService } from '@nestjs/config';
import { Pool } from 'pg';
import { PartitionMaintenanceService } from './partition-maintenance.service';

/** Against a real, migrated PostgreSQL database of its own (the dates are far from today on purpose). */
describe('PartitionMaintenanceService (real PostgreSQL)', () => {
  const RETENTION_DAYS = 2;
  let db: ScratchDatabase;
  let pool: Pool;
  let service: PartitionMaintenanceService;
  let meterId: string;

  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
  const partitionOf = async (readAt: string) =>
    (
      await pool.query<{ partition: string }>(
        'select tableoid::regclass::text as partition from meter_reads where read_at = $1',
        [readAt],
      )
    ).rows.map((r) => r.partition);
  const insertRead = (readAt: string) =>
    pool.query(
      `insert into meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms)
       values ($1, $2, 'scheduled', 'success', 5)`,
      [meterId, readAt],
    );

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    const config = { get: (key: string) => (key === 'READINGS_RETENTION_DAYS' ? RETENTION_DAYS : undefined) };
    service = new PartitionMaintenanceService(pool, config as unknown as ConfigService);
    const area = await pool.query<{ id: string }>(
      `insert into areas (name, code) values ('Maintenance', 'MNT') returning id`,
    );
    const meter = await pool.query<{ id: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id)
       values ('MNT-1', 'three-phase', 'b', 'm', $1) returning id`,
      [area.rows[0].id],
    );
    meterId = meter.rows[0].id;
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('creates today and the next three days, and reads land in their day partition', async () => {
    const report = await service.run(day('2031-03-10') + 3_600_000);
    expect(report.created).toEqual([
      'meter_reads_p20310310',
      'meter_reads_p20310311',
      'meter_reads_p20310312',
      'meter_reads_p20310313',
    ]);
    await insertRead('2031-03-11T12:00:00Z');
    expect(await partitionOf('2031-03-11T12:00:00Z')).toEqual(['meter_reads_p20310311']);
    expect((await service.run(day('2031-03-10'))).created).toEqual([]);
  });

  it('keeps a read without a partition in the default one, then moves it into the day created later', async () => {
    await insertRead('2031-03-20T08:00:00Z');
    expect(await partitionOf('2031-03-20T08:00:00Z')).toEqual(['meter_reads_default']);
    const report = await service.run(day('2031-03-20'));
    expect(report.movedFromDefault).toBe(1);
    expect(report.dropped.sort()).toEqual([
      'meter_reads_p20310310',
      'meter_reads_p20310311',
      'meter_reads_p20310312',
      'meter_reads_p20310313',
    ]);
    expect(await partitionOf('2031-03-20T08:00:00Z')).toEqual(['meter_reads_p20310320']);
  });

  it('drops whole partitions and meter events older than the retention window, and nothing newer', async () => {
    await pool.query(
      `insert into meter_events (meter_id, event_type, previous_status, status, reason, created_at)
       values ($1, 'status-change', 'online', 'offline', 'old', '2031-03-01T00:00:00Z'),
              ($1, 'status-change', 'offline', 'online', 'recent', '2031-03-19T12:00:00Z')`,
      [meterId],
    );
    const report = await service.run(day('2031-03-20'));
    // 2031-03-20 minus 2 days: every partition of a day ending on or before 03-18 is gone (the run of the
    // previous test, at the same date, already dropped them), the later ones stay.
    const { rows: partitions } = await pool.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'meter_reads'::regclass order by 1`,
    );
    expect(partitions.map((p) => p.name)).toEqual([
      'meter_reads_default',
      'meter_reads_p20310320',
      'meter_reads_p20310321',
      'meter_reads_p20310322',
      'meter_reads_p20310323',
    ]);
    expect(await partitionOf('2031-03-11T12:00:00Z')).toEqual([]);
    expect(await partitionOf('2031-03-20T08:00:00Z')).toEqual(['meter_reads_p20310320']);
    expect(report.deletedEvents).toBe(1);
    const { rows } = await pool.query<{ reason: string }>('select reason from meter_events');
    expect(rows.map((r) => r.reason)).toEqual(['recent']);
  });
});
