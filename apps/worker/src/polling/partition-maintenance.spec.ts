import type { WorkerEnv } from '@app/config';
import { createScratchDatabase, type ScratchDatabase } from '@app/testing';
import { Client, Pool } from 'pg';
import {
  EVENT_DELETE_BATCH,
  AUDIT_DELETE_BATCH,
  MAINTENANCE_LOCK_KEY,
  PartitionMaintenanceService,
} from './partition-maintenance.service';

/** Against a real, migrated PostgreSQL database of its own (the dates are far from today on purpose). */
describe('PartitionMaintenanceService (real PostgreSQL)', () => {
  const RETENTION_DAYS = 2;
  const AUDIT_RETENTION = 14;
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
  const insertRead = (readAt: string, tickAt: string | null = null, on: Pool | Client = pool) =>
    on.query(
      `insert into meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms, tick_at)
       values ($1, $2, 'scheduled', 'success', 5, $3)`,
      [meterId, readAt, tickAt],
    );
  const partitions = async (like = 'meter_reads_p2031%') =>
    (
      await pool.query<{ name: string; pending: boolean }>(
        `select c.relname as name, i.inhdetachpending as pending from pg_inherits i
         join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'meter_reads'::regclass and c.relname like $1 order by 1`,
        [like],
      )
    ).rows;
  const tableExists = async (name: string) =>
    (await pool.query<{ t: string | null }>('select to_regclass($1)::text as t', [name])).rows[0].t !== null;
  const connect = async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    service = new PartitionMaintenanceService(pool, {
      READINGS_RETENTION_DAYS: RETENTION_DAYS,
      AUDIT_RETENTION_DAYS: AUDIT_RETENTION,
    } as WorkerEnv);
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

  it('a migrated database already has partitions for today and the next three days, and no default partition', async () => {
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    expect((await partitions(`meter_reads_p${today}`)).map((p) => p.name)).toEqual([`meter_reads_p${today}`]);
    expect(await tableExists('meter_reads_default')).toBe(false);
  });

  it('creates today and the next three days, each with its unique (meter, tick) key, and reads land in their day', async () => {
    const report = await service.run(day('2031-03-10') + 3_600_000);
    expect(report).toMatchObject({ ran: true, postponed: [] });
    expect(report.created).toEqual([
      'meter_reads_p20310310',
      'meter_reads_p20310311',
      'meter_reads_p20310312',
      'meter_reads_p20310313',
    ]);
    const { rows: keys } = await pool.query<{ tablename: string; indexdef: string }>(
      `select tablename, indexdef from pg_indexes where indexname = tablename || '_meter_tick_key'
       and tablename like 'meter_reads_p2031%' order by 1`,
    );
    expect(keys.map((k) => k.tablename)).toEqual(report.created);
    for (const k of keys)
      expect(k.indexdef).toMatch(/UNIQUE INDEX .*\(meter_id, tick_at\) WHERE \(tick_at IS NOT NULL\)/);

    await insertRead('2031-03-11T12:00:00Z', '2031-03-11T11:59:59Z');
    expect(await partitionOf('2031-03-11T12:00:00Z')).toEqual(['meter_reads_p20310311']);
    // A second scheduled record of the same meter and tick is refused by the database.
    await expect(insertRead('2031-03-11T12:00:01Z', '2031-03-11T11:59:59Z')).rejects.toMatchObject({
      code: '23505',
    });
    expect((await service.run(day('2031-03-10'))).created).toEqual([]);
  });

  it('drops whole partitions and meter events older than the retention window, and nothing newer', async () => {
    await pool.query(
      `insert into meter_events (meter_id, event_type, previous_status, status, reason, created_at)
       values ($1, 'status-change', 'online', 'offline', 'old', '2031-03-01T00:00:00Z'),
              ($1, 'status-change', 'offline', 'online', 'recent', '2031-03-19T12:00:00Z')`,
      [meterId],
    );
    await pool.query(
      `insert into meter_alarms (meter_id, alarm, severity, state, raised_at, received_at)
       values ($1, 'tamper', 'critical', 'open', '2031-03-01T00:00:00Z', '2031-03-01T00:00:00Z'),
              ($1, 'tamper', 'critical', 'open', '2031-03-19T12:00:00Z', '2031-03-19T12:00:00Z')`,
      [meterId],
    );
    const report = await service.run(day('2031-03-20'));
    // 2031-03-20 minus 2 days: every partition of a day ending on or before 03-18 goes, the later ones stay.
    expect(report.dropped.sort()).toEqual([
      'meter_reads_p20310310',
      'meter_reads_p20310311',
      'meter_reads_p20310312',
      'meter_reads_p20310313',
    ]);
    expect((await partitions()).map((p) => p.name)).toEqual([
      'meter_reads_p20310320',
      'meter_reads_p20310321',
      'meter_reads_p20310322',
      'meter_reads_p20310323',
    ]);
    expect(await tableExists('meter_reads_p20310311')).toBe(false);
    expect(report.deletedEvents).toBe(1);
    const { rows } = await pool.query<{ reason: string }>('select reason from meter_events');
    expect(rows.map((r) => r.reason)).toEqual(['recent']);
    expect(report.deletedAlarms).toBe(1);
    const alarms = await pool.query<{ raised_at: Date }>(
      'select raised_at from meter_alarms where meter_id = $1',
      [meterId],
    );
    expect(alarms.rows.map((r) => r.raised_at.toISOString())).toEqual(['2031-03-19T12:00:00.000Z']);
  });

  it('drops an expired partition while an insert transaction is open on a current one, without blocking it and without ACCESS EXCLUSIVE on meter_reads', async () => {
    await service.run(day('2031-04-01')); // creates 04-01..04-04
    const writer = await connect();
    const watcher = await connect();
    try {
      await writer.query('begin');
      await insertRead('2031-04-04T08:00:00Z', null, writer);

      let strongest = false;
      let settled = false;
      const watching = (async () => {
        while (!settled) {
          const { rows } = await watcher.query<{ n: number }>(
            `select count(*)::int as n from pg_locks
             where relation = 'meter_reads'::regclass and mode = 'AccessExclusiveLock'`,
          );
          if (rows[0].n > 0) strongest = true;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      // 04-04 minus 2 days: 04-01 expires. Its concurrent detach waits for the writer's open transaction.
      const maintenance = service.run(day('2031-04-04')).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      // Polling goes on meanwhile: the open transaction and a new session both insert.
      await insertRead('2031-04-04T08:00:01Z', null, writer);
      const fresh = await connect();
      await insertRead('2031-04-04T08:00:02Z', null, fresh).finally(() => fresh.end());
      expect(settled).toBe(false);
      await writer.query('commit');
      const report = await maintenance;
      await watching;

      expect(report.dropped).toEqual(['meter_reads_p20310401']);
      expect(await tableExists('meter_reads_p20310401')).toBe(false);
      expect(strongest).toBe(false);
      expect(await partitionOf('2031-04-04T08:00:01Z')).toEqual(['meter_reads_p20310404']);
    } finally {
      await writer.end();
      await watcher.end();
    }
  });

  it('completes a detach left pending by an interrupted run (FINALIZE), then drops the partition', async () => {
    await service.run(day('2031-05-01')); // 05-01..05-04
    const reader = await connect();
    const detacher = await connect();
    try {
      // An open transaction that has seen the partition makes the second half of the detach wait; the
      // detaching session gives up, which leaves the detach pending, as a crash at that point would.
      await reader.query('begin isolation level repeatable read');
      await reader.query('select count(*) from meter_reads');
      await detacher.query(`set lock_timeout = '200ms'`);
      await expect(
        detacher.query('alter table meter_reads detach partition meter_reads_p20310501 concurrently'),
      ).rejects.toThrow(/lock timeout/);
      await reader.query('commit');
      expect(await partitions('meter_reads_p20310501')).toEqual([
        { name: 'meter_reads_p20310501', pending: true },
      ]);

      const report = await service.run(day('2031-05-04'));
      expect(report.finalized).toEqual(['meter_reads_p20310501']);
      expect(report.dropped).toContain('meter_reads_p20310501');
      expect(await tableExists('meter_reads_p20310501')).toBe(false);
    } finally {
      await reader.end();
      await detacher.end();
    }
  });

  it(`deletes expired meter events in batches of ${EVENT_DELETE_BATCH}, each its own statement`, async () => {
    const expired = 2 * EVENT_DELETE_BATCH + 7;
    await pool.query(
      `insert into meter_events (meter_id, event_type, reason, created_at)
       select $1, 'status-change', 'bulk', timestamptz '2031-06-01T00:00:00Z' + g * interval '1 second'
       from generate_series(1, $2) g`,
      [meterId, expired],
    );
    await pool.query(
      `insert into meter_events (meter_id, event_type, reason, created_at)
       values ($1, 'status-change', 'keep', '2031-06-10T00:00:00Z')`,
      [meterId],
    );
    const report = await service.run(day('2031-06-11'));
    expect(report.deletedEvents).toBe(expired);
    expect(report.eventDeleteStatements).toBe(3);
    const { rows } = await pool.query<{ reason: string }>(
      `select reason from meter_events where created_at >= '2031-06-01'`,
    );
    expect(rows.map((r) => r.reason)).toEqual(['keep']);
  });

  it(`deletes audit entries older than AUDIT_RETENTION_DAYS in batches of ${AUDIT_DELETE_BATCH}; nothing else may delete or change them`, async () => {
    const insert = (at: string, count: number, action: string) =>
      pool.query(
        `insert into audit_log (at, actor_type, actor_name, action, outcome, status_code)
         select timestamptz '${at}' + g * interval '1 second', 'user', 'tester', $2, 'success', 200
         from generate_series(1, $1) g`,
        [count, action],
      );
    await insert('2032-01-01T00:00:00Z', AUDIT_DELETE_BATCH + 3, 'old.change');
    await insert('2032-01-20T00:00:00Z', 2, 'recent.change');
    // Without maintenance's transaction setting, the table refuses DELETE, UPDATE and TRUNCATE.
    await expect(pool.query(`delete from audit_log where action = 'old.change'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query(`update audit_log set actor_name = 'x'`)).rejects.toThrow(/append-only/);
    await expect(pool.query('truncate audit_log')).rejects.toThrow(/append-only/);

    const report = await service.run(day('2032-01-25'));
    expect(report.deletedAuditEntries).toBe(AUDIT_DELETE_BATCH + 3);
    const { rows } = await pool.query<{ action: string; n: number }>(
      `select action, count(*)::int as n from audit_log where at >= '2032-01-01' group by action`,
    );
    expect(rows).toEqual([{ action: 'recent.change', n: 2 }]);
    await expect(pool.query(`delete from audit_log`)).rejects.toThrow(/append-only/);
  });

  it('runs once at a time across processes: while another session holds the maintenance lock, a run does nothing', async () => {
    const other = await connect();
    try {
      await other.query('select pg_advisory_lock($1)', [MAINTENANCE_LOCK_KEY]);
      const skipped = await service.run(day('2031-07-01'));
      expect(skipped).toMatchObject({ ran: false, created: [] });
      expect(await partitions('meter_reads_p203107%')).toEqual([]);
      await other.query('select pg_advisory_unlock($1)', [MAINTENANCE_LOCK_KEY]);
      const done = await service.run(day('2031-07-01'));
      expect(done.ran).toBe(true);
      expect(done.created).toHaveLength(4);
      // The lock is released after each run (the next run is not refused).
      expect((await service.run(day('2031-07-01'))).ran).toBe(true);
    } finally {
      await other.end();
    }
  });
});
