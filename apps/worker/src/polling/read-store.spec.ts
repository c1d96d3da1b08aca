import { WorkerEnv } from '@app/config';
import { ReadMetrics } from '@app/metrics';
import { createScratchDatabase, type ScratchDatabase } from '@app/testing';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { MeterExchange } from './meter-reader';
import { PollingRepository, ReadToStore, StoredRead } from './polling.repository';
import { readRecord, ReadStore, STORE_COLLECT_MS } from './read-store';

const env = (overrides: Partial<WorkerEnv> = {}) =>
  Object.assign(new WorkerEnv(), { METER_POLLING_INTERVAL: 60_000, ...overrides });

const exchange = (meterId: string, readAt: Date, ok = true): MeterExchange => ({
  meterId,
  meterNumber: `N-${meterId.slice(0, 4)}`,
  readAt: readAt.toISOString(),
  communicationStatus: ok ? 'success' : 'failed',
  readings: ok
    ? [
        {
          obisCode: '1-0:32.7.0.255',
          name: 'Voltage L1',
          value: 230.1,
          rawValue: 2301,
          scaler: -1,
          unit: 'V',
          quality: 'good',
        },
      ]
    : [],
  responseTime: 12,
  ...(ok ? {} : { error: 'no answer within 1000 ms' }),
});

/** The store's behaviour against a real, migrated PostgreSQL database of its own. */
describe('ReadStore with PostgreSQL', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let store: ReadStore;
  let areaId: string;

  const newMeter = async (status = 'online') =>
    (
      await pool.query<{ id: string }>(
        `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
         values ('RS-' || floor(random() * 1e9)::text, 'three-phase', 'b', 'm', $1, '127.0.0.1', 8080, $2)
         returning id`,
        [areaId, status],
      )
    ).rows[0].id;
  const records = async (meterId: string) =>
    (await pool.query(`select tick_at, communication_status from meter_reads where meter_id = $1`, [meterId]))
      .rows;
  const meterRow = async (meterId: string) =>
    (await pool.query(`select status, consecutive_failures from meters where id = $1`, [meterId])).rows[0];
  const events = async (meterId: string) =>
    (await pool.query(`select previous_status, status from meter_events where meter_id = $1`, [meterId]))
      .rows;

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    store = new ReadStore(new PollingRepository(pool), env(), new ReadMetrics(new Registry()));
    areaId = (await pool.query(`insert into areas (name, code) values ('Store', 'STR') returning id`)).rows[0]
      .id;
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('stores a read once, however often its store is repeated', async () => {
    const meterId = await newMeter();
    const read = readRecord(exchange(meterId, new Date()), 'on-demand', null);
    expect((await store.store(read)).stored).toBe(true);
    expect((await store.store(read)).stored).toBe(false);
    expect(await records(meterId)).toHaveLength(1);
  });

  it('keeps at most one scheduled record per meter and tick', async () => {
    const meterId = await newMeter();
    const tick = new Date(Date.now() - 1000);
    const first = store.store(
      readRecord(exchange(meterId, new Date(tick.getTime() + 10)), 'scheduled', tick),
    );
    const second = store.store(
      readRecord(exchange(meterId, new Date(tick.getTime() + 20)), 'scheduled', tick),
    );
    const results = await Promise.all([first, second]);
    expect(results.map((r) => r.stored).sort()).toEqual([false, true]);
    expect(await records(meterId)).toHaveLength(1);
    await expect(
      pool.query(
        `insert into meter_reads (meter_id, read_at, reading_type, tick_at, communication_status, response_time_ms)
         values ($1, now(), 'scheduled', $2, 'failed', 1)`,
        [meterId, tick],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('records and reports a status change once, with the status the row had under its lock', async () => {
    const meterId = await newMeter('online');
    // The read starts after the meter was registered. `new Date()` can fall in the same millisecond as the
    // row's updated_at and, having no microseconds, before it: the store then rightly treats the row as
    // changed while the read was in flight (the next test) and keeps its status.
    const { rows } = await pool.query<{ at: Date }>(`select updated_at as at from meters where id = $1`, [
      meterId,
    ]);
    const readAt = new Date(Math.max(Date.now(), rows[0].at.getTime() + 1));
    const result = await store.store(readRecord(exchange(meterId, readAt, false), 'scheduled', readAt));
    expect(result.meter).toMatchObject({ previousStatus: 'online', status: 'offline' });
    expect(await events(meterId)).toEqual([{ previous_status: 'online', status: 'offline' }]);
  });

  it("does not overwrite an operator's change made while the read was in flight", async () => {
    const meterId = await newMeter('online');
    const readStarted = new Date(Date.now() - 500);
    // The operator takes the meter to the warehouse, then back online, after the read started.
    await pool.query(`update meters set status = 'online', updated_at = now() where id = $1`, [meterId]);
    const result = await store.store(
      readRecord(exchange(meterId, readStarted, false), 'scheduled', readStarted),
    );
    expect(result.stored).toBe(true);
    expect(await meterRow(meterId)).toEqual({ status: 'online', consecutive_failures: 0 });
    expect(result.meter).toMatchObject({ previousStatus: 'online', status: 'online' });
    expect(await events(meterId)).toEqual([]);
  });

  it('stores a read whose day has no partition yet, creating the partition', async () => {
    const meterId = await newMeter();
    const farAhead = new Date(Date.UTC(2031, 4, 17, 12));
    expect((await store.store(readRecord(exchange(meterId, farAhead), 'on-demand', null))).stored).toBe(true);
    const { rows } = await pool.query(
      `select tableoid::regclass::text as p from meter_reads where meter_id = $1`,
      [meterId],
    );
    expect(rows).toEqual([{ p: 'meter_reads_p20310517' }]);
  });

  it('retries a store that PostgreSQL refused once (a failing trigger) and loses nothing', async () => {
    const meterId = await newMeter();
    // A sequence, because a row deleted by the failing statement would come back with its rollback.
    await pool.query(`create sequence fail_once_seq`);
    await pool.query(`
      create or replace function fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('fail_once_seq') = 1 then raise exception 'injected store failure'; end if;
        return new;
      end $$`);
    await pool.query(
      `create trigger fail_once before insert on meter_reads for each row execute function fail_once()`,
    );
    try {
      const retriesBefore = store.counters.retries;
      const reads = [0, 1, 2].map((i) =>
        store.store(readRecord(exchange(meterId, new Date(Date.now() + i)), 'on-demand', null)),
      );
      const results = await Promise.all(reads);
      expect(results.every((r) => r.stored && !r.lost)).toBe(true);
      expect(store.counters.retries).toBeGreaterThan(retriesBefore);
      expect(await records(meterId)).toHaveLength(3);
    } finally {
      await pool.query(`drop trigger fail_once on meter_reads`);
    }
  });
});

/** The store's retry, bound and shutdown rules, with the repository (outside the unit) replaced. */
describe('ReadStore rules', () => {
  const read = (i: number): ReadToStore => ({
    meterId: `m${i}`,
    readAt: new Date(1_700_000_000_000 + i),
    readingType: 'scheduled',
    tickAt: null,
    communicationStatus: 'failed',
    responseTimeMs: 1,
    error: 'x',
    values: null,
  });

  function fakeRepository(failures: unknown[]) {
    const calls: number[] = [];
    const repository = {
      storeReads: (reads: readonly ReadToStore[]): Promise<StoredRead[]> => {
        calls.push(reads.length);
        const failure = failures.shift();
        return failure ? Promise.reject(failure) : Promise.resolve(reads.map(() => ({ stored: true })));
      },
    } as unknown as PollingRepository;
    return { repository, calls };
  }

  it('retries while PostgreSQL is unavailable, then stores everything in one statement', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('terminating connection'), { code: '57P01' });
    const { repository, calls } = fakeRepository([refused, shutdown, refused]);
    const store = new ReadStore(repository, env(), new ReadMetrics(new Registry()));
    const results = await Promise.all([1, 2, 3].map((i) => store.reserve()!.store(read(i))));
    expect(results.every((r) => r.stored)).toBe(true);
    expect(calls).toEqual([3, 3, 3, 3]);
    expect(store.counters).toMatchObject({ stored: 3, retries: 3, lost: 0 });
  });

  it('narrows a refused statement down to the read that causes it, stores the rest, and counts the loss', async () => {
    const bad = Object.assign(new Error('value out of range'), { code: '22003' });
    const repository = {
      storeReads: (reads: readonly ReadToStore[]) =>
        reads.some((r) => r.meterId === 'm2')
          ? Promise.reject(bad)
          : Promise.resolve(reads.map(() => ({ stored: true }))),
    } as unknown as PollingRepository;
    const store = new ReadStore(repository, env(), new ReadMetrics(new Registry()));
    const results = await Promise.all([1, 2, 3, 4].map((i) => store.reserve()!.store(read(i))));
    expect(results.map((r) => r.stored)).toEqual([true, false, true, true]);
    expect(results[1].lost).toMatch(/refused it 3 times: value out of range/);
    expect(store.counters).toMatchObject({ stored: 3, lost: 1 });
  });

  it("stores an operator's read at once, even while a statement of scheduled reads is still running", async () => {
    let finishScheduled: () => void = () => undefined;
    const repository = {
      storeReads: (reads: readonly ReadToStore[]): Promise<StoredRead[]> => {
        const results = reads.map(() => ({ stored: true }));
        if (reads[0].readingType !== 'scheduled') return Promise.resolve(results);
        return new Promise((resolve) => (finishScheduled = () => resolve(results)));
      },
    } as unknown as PollingRepository;
    const store = new ReadStore(repository, env(), new ReadMetrics(new Registry()));
    const scheduled = store.reserve()!.store(read(1));
    await new Promise((r) => setTimeout(r, STORE_COLLECT_MS + 50)); // its statement has started
    expect(await store.store({ ...read(2), readingType: 'on-demand' })).toMatchObject({ stored: true });
    finishScheduled();
    expect(await scheduled).toMatchObject({ stored: true });
  });

  it('contacts no more meters once its backlog is full', () => {
    const store = new ReadStore(
      fakeRepository([]).repository,
      env({ STORE_BUFFER_MAX_READS: 2 }),
      new ReadMetrics(new Registry()),
    );
    const a = store.reserve();
    const b = store.reserve();
    expect(a && b).toBeTruthy();
    expect(store.reserve()).toBeNull();
    a!.cancel();
    a!.cancel();
    expect(store.backlog).toBe(1);
    expect(store.reserve()).not.toBeNull();
  });

  it('at shutdown, gives up at the deadline and counts what it could not store', async () => {
    const down = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const { repository } = fakeRepository(Array.from({ length: 1000 }, () => down));
    const store = new ReadStore(repository, env(), new ReadMetrics(new Registry()));
    const pending = store.store(read(1));
    await new Promise((r) => setTimeout(r, 50));
    await store.drain(Date.now() + 300);
    expect(await pending).toMatchObject({ stored: false, lost: expect.stringMatching(/shutdown grace/) });
    expect(store.counters.lost).toBe(1);
    expect(store.reserve()).toBeNull();
  });
});
