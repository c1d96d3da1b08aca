/**
 * Load profiles (issue 12): a worker collects the meters' interval data from their memory through the
 * simulator; a meter dead for a while is back-filled as soon as it answers again (paging through `more`),
 * reading twice stores nothing twice, a power-off leaves a gap and flags the entry after it; the api serves
 * the profile (JSON, CSV) and completeness figures that equal a direct count, in UTC.
 */
import { bullRootOptions, PROFILE_JOBS, QUEUES } from '@app/contracts';
import { StartedProcess } from '@app/testing';
import { Queue } from 'bullmq';
import request from 'supertest';
import {
  configureOnlineAtGateway,
  PollingStack,
  pollingEnv,
  retireMeters,
  sleep,
  startPollingStack,
  startWorker,
  waitFor,
} from './polling-helpers';

/** One entry per second: the meters' "two hours" of outage are scaled down to seconds. */
const PERIOD_S = 1;
const PERIOD_MS = PERIOD_S * 1000;

jest.setTimeout(120_000);

describe('load profiles: collection, back-fill, storage', () => {
  let stack: PollingStack;
  let worker: StartedProcess;
  let queue: Queue;
  const env = pollingEnv('hes-prof', {
    METER_POLLING_INTERVAL: '2000',
    // Scheduled collection stays out of the way (pollingEnv: daily): back-fill and the jobs added here work.
    CLOCK_SYNC: 'auto',
    CLOCK_DRIFT_MAX_S: '10',
    CLOCK_SYNC_MIN_INTERVAL: '3600000',
  });
  const get = (path: string) =>
    request(stack.api.server).get(path).set('Authorization', `Bearer ${stack.token}`);
  const ids = () => stack.meterIds;
  const numberOf = (id: string) => [...stack.idByNumber].find(([, v]) => v === id)![0];

  const entries = async (meterId: string, from: Date, to: Date) =>
    (
      await stack.db.query<{ captured_at: Date; status: number; raw: string[] }>(
        `SELECT captured_at, status, raw FROM load_profile_entries
         WHERE meter_id = $1 AND profile = 1 AND captured_at BETWEEN $2 AND $3 ORDER BY captured_at`,
        [meterId, from, to],
      )
    ).rows;
  const status = async (meterId: string) =>
    (await stack.db.query<{ status: string }>('SELECT status FROM meters WHERE id = $1', [meterId])).rows[0]
      .status;
  /** Every capture boundary in [from, to]. */
  const boundaries = (from: number, to: number) => {
    const out: number[] = [];
    for (let t = Math.ceil(from / PERIOD_MS) * PERIOD_MS; t <= to; t += PERIOD_MS) out.push(t);
    return out;
  };

  beforeAll(async () => {
    stack = await startPollingStack(
      env,
      { meters: 3, format: 'mixed', seed: 12, prefix: 'LP', profilePeriodSec: PERIOD_S },
      'LP',
    );
    // Where each meter's collection stands: collected up to 150 s ago (a fixture standing for "last hour").
    await stack.db.query(
      `INSERT INTO load_profile_state (meter_id, profile, capture_period_s, last_captured_at, last_collected_at)
       SELECT unnest($1::uuid[]), 1, $2, date_trunc('second', now()) - interval '150 seconds', now()`,
      [ids(), PERIOD_S],
    );
    worker = await startWorker(env);
    queue = new Queue(QUEUES.PROFILE, bullRootOptions(process.env.REDIS_URL!, env.QUEUE_PREFIX));
  });

  afterAll(async () => {
    await retireMeters(stack.db, ids());
    await worker?.stop();
    await queue?.close();
    await stack.api.close();
    await stack.sim.stop();
    await stack.db.end();
  });

  it('back-fills every interval of an outage from the meter memory as soon as it answers again, across pages', async () => {
    const [a] = ids();
    await stack.sim.control.setFault(numberOf(a), 'dead');
    await configureOnlineAtGateway(stack.api, stack.token, ids(), stack.sim);
    await waitFor('the dead meter offline', async () => (await status(a)) === 'offline');
    const deadFrom = Date.now();
    await sleep(8_000); // the outage: 8 intervals
    const since = (
      await stack.db.query<{ t: Date }>(
        'SELECT last_captured_at AS t FROM load_profile_state WHERE meter_id = $1',
        [a],
      )
    ).rows[0].t;
    await stack.sim.control.setFault(numberOf(a), 'ok');
    await waitFor('the meter back online', async () => (await status(a)) === 'online', 20_000);
    const backAt = Date.now();
    // One collection (queued by the store when it turned online) reads from the last stored entry to now:
    // > 150 entries at one per second, so it pages through `more` (≤ 96 per answer).
    // The entry at `since` is the one the fixture says is stored already; every later one must come.
    const expected = boundaries(since.getTime() + PERIOD_MS, backAt - 2 * PERIOD_MS);
    expect(expected.length).toBeGreaterThan(150);
    await waitFor(
      'the outage back-filled',
      async () =>
        (await entries(a, new Date(expected[0]), new Date(backAt - 2 * PERIOD_MS))).length >= expected.length,
      15_000,
    );
    const rows = await entries(a, new Date(expected[0]), new Date(backAt - 2 * PERIOD_MS));
    expect(rows.map((r) => r.captured_at.getTime())).toEqual(expected);
    expect(rows.filter((r) => r.captured_at.getTime() >= deadFrom).length).toBeGreaterThanOrEqual(7);
    // A lost link is not a power failure: no entry of the outage is flagged.
    expect(rows.every((r) => r.status === 0)).toBe(true);
    // Energy never steps back.
    for (let i = 1; i < rows.length; i++)
      expect(Number(rows[i].raw[0])).toBeGreaterThanOrEqual(Number(rows[i - 1].raw[0]));
  });

  it('stores nothing twice: reading the same range again adds no row, and the database refuses a duplicate', async () => {
    const [, b] = ids();
    const count = async () =>
      Number(
        (await stack.db.query('SELECT count(*) FROM load_profile_entries WHERE meter_id = $1', [b])).rows[0]
          .count,
      );
    const first = await queue.add(PROFILE_JOBS.COLLECT, { meterIds: [b], reason: 'continue' });
    await waitFor('a collection', async () => (await first.getState()) === 'completed');
    const before = await count();
    expect(before).toBeGreaterThan(100);
    // Move the collection back: the same pages are read again and every entry is already there. (A
    // collection finding the meter busy with a poll reads nothing and is tried again.)
    let now = 0;
    let result = { entries: 0, stored: 0 };
    for (let attempt = 0; attempt < 5 && result.entries === 0; attempt++) {
      await stack.db.query(
        `UPDATE load_profile_state SET last_captured_at = last_captured_at - interval '100 seconds' WHERE meter_id = $1`,
        [b],
      );
      now = Date.now();
      const again = await queue.add(PROFILE_JOBS.COLLECT, { meterIds: [b], reason: 'continue' });
      await waitFor('a second collection', async () => (await again.getState()) === 'completed');
      result = (await queue.getJob(again.id!))!.returnvalue as { entries: number; stored: number };
    }
    expect(result.entries).toBeGreaterThan(90);
    // Only entries captured since the first collection are new.
    const newer = (await entries(b, new Date(now - 5_000), new Date())).length;
    expect(result.stored).toBeLessThanOrEqual(newer + 5);
    const dup = await stack.db
      .query(
        `INSERT INTO load_profile_entries (meter_id, captured_at, profile, status, layout_id, raw)
         SELECT meter_id, captured_at, profile, status, layout_id, raw FROM load_profile_entries WHERE meter_id = $1 LIMIT 1`,
        [b],
      )
      .catch((err: { code?: string }) => err.code);
    expect(dup).toBe('23505');
    const dupes = await stack.db.query(
      `SELECT captured_at FROM load_profile_entries WHERE meter_id = $1 GROUP BY captured_at HAVING count(*) > 1`,
      [b],
    );
    expect(dupes.rows).toEqual([]);
  });

  it('a scheduled tick fans the online meters out as collections', async () => {
    const tickAt = new Date();
    // As the job scheduler adds it (its own ids are repeat:<scheduler>:<millis>; a plain id means "now").
    const tick = await queue.add(
      PROFILE_JOBS.TICK,
      { intervalMs: 3_600_000 },
      { jobId: `test-tick-${tickAt.getTime()}` },
    );
    await waitFor('the tick done', async () => (await tick.getState()) === 'completed');
    const fanned = (await queue.getJob(tick.id!))!.returnvalue as { meters: number; jobs: number };
    expect(fanned.meters).toBeGreaterThanOrEqual(3);
    expect(fanned.jobs).toBeGreaterThanOrEqual(1);
    await waitFor('every meter collected after the tick', async () => {
      const r = await stack.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM load_profile_state WHERE meter_id = ANY($1::uuid[]) AND last_collected_at >= $2`,
        [ids(), tickAt],
      );
      return r.rows[0].n === 3;
    });
  });

  it('a power-off leaves no entries while it lasts and flags the first entry after it', async () => {
    const [, , c] = ids();
    await waitFor('the meter online', async () => (await status(c)) === 'online');
    const offAt = Date.now();
    await stack.sim.control.setFault(numberOf(c), 'power-off');
    await waitFor('the powered-off meter offline', async () => (await status(c)) === 'offline');
    await sleep(3_000);
    const onAt = Date.now();
    await stack.sim.control.setFault(numberOf(c), 'ok');
    await waitFor('the meter back online', async () => (await status(c)) === 'online', 20_000);
    await waitFor(
      'the entries after the power-off',
      async () => (await entries(c, new Date(onAt), new Date(onAt + 3 * PERIOD_MS))).length > 0,
      15_000,
    );
    const rows = await entries(c, new Date(offAt - 3 * PERIOD_MS), new Date(onAt + 3 * PERIOD_MS));
    const inside = rows.filter(
      (r) => r.captured_at.getTime() > offAt + PERIOD_MS && r.captured_at.getTime() < onAt,
    );
    expect(inside).toEqual([]);
    const firstAfter = rows.find((r) => r.captured_at.getTime() >= onAt)!;
    expect(firstAfter.status & 0x80).toBe(0x80);
    expect(rows.filter((r) => r.status & 0x80)).toHaveLength(1);
  });

  it('serves the profile in UTC with physical values and flags, as JSON and CSV, bounded and validated', async () => {
    const [, , c] = ids();
    const to = new Date();
    const from = new Date(to.getTime() - 60_000);
    const res = await get(`/api/meters/${c}/load-profile?from=${from.toISOString()}&to=${to.toISOString()}`);
    expect(res.status).toBe(200);
    const body = res.body.data as {
      capturePeriodSec: number;
      captureObjects: { obisCode: string; unit: string }[];
      entries: {
        timestamp: string;
        values: Record<string, { value: number; unit: string }>;
        status: number;
        flags: string[];
      }[];
    };
    const direct = await stack.db.query<{ captured_at: Date; status: number; raw: string[] }>(
      `SELECT captured_at, status, raw::text[] AS raw FROM load_profile_entries
       WHERE meter_id = $1 AND captured_at >= $2 AND captured_at < $3 ORDER BY captured_at`,
      [c, from, to],
    );
    expect(body.capturePeriodSec).toBe(PERIOD_S);
    expect(body.entries.map((e) => e.timestamp)).toEqual(direct.rows.map((r) => r.captured_at.toISOString()));
    expect(body.entries.every((e) => e.timestamp.endsWith('Z'))).toBe(true);
    const unit = body.captureObjects[0].unit;
    const scale = unit === 'kWh' ? 1000 : 1;
    body.entries.forEach((e, i) => {
      expect(e.values['1-0:1.8.0.255'].unit).toBe(unit);
      expect(e.values['1-0:1.8.0.255'].value * scale).toBeCloseTo(Number(direct.rows[i].raw[0]), 6);
      expect(e.flags.includes('powerDown')).toBe((direct.rows[i].status & 0x80) !== 0);
    });
    expect(body.entries.some((e) => e.flags.includes('powerDown'))).toBe(true);

    const csv = await get(
      `/api/meters/${c}/load-profile?from=${from.toISOString()}&to=${to.toISOString()}&format=csv`,
    );
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe(`timestamp,1-0:1.8.0.255 [${unit}],1-0:2.8.0.255 [${unit}],status,flags`);
    expect(lines).toHaveLength(body.entries.length + 1);
    expect(lines.some((l) => l.endsWith(',128,powerDown'))).toBe(true);

    for (const bad of [
      `from=${to.toISOString()}&to=${from.toISOString()}`,
      'from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z',
      'from=yesterday',
      'format=xml',
    ]) {
      const r = await get(`/api/meters/${c}/load-profile?${bad}`);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ success: false });
      expect(typeof r.body.message).toBe('string');
    }
    expect((await get('/api/meters/NO-SUCH-METER/load-profile')).status).toBe(404);
    const doc = (await request(stack.api.server).get('/api/docs-json')).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/meters/{id}/load-profile',
        '/api/meters/{id}/load-profile/completeness',
        '/api/reports/completeness',
        '/api/reports/clock-drift',
      ]),
    );
    for (const dto of [
      'LoadProfileDto',
      'ProfileValueDto',
      'CompletenessDto',
      'FleetCompletenessDto',
      'ClockDriftReportDto',
    ]) {
      expect(doc.components.schemas[dto]).toBeDefined();
    }
    expect((await request(stack.api.server).get(`/api/meters/${c}/load-profile`)).status).toBe(401);
  });

  it('completeness equals a direct count, per UTC day, for a meter and for the fleet', async () => {
    const [a] = ids();
    const to = new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000);
    const from = new Date(to.getTime() - 120_000);
    const res = await get(
      `/api/meters/${a}/load-profile/completeness?from=${from.toISOString()}&to=${to.toISOString()}`,
    );
    expect(res.status).toBe(200);
    const direct = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM load_profile_entries
       WHERE meter_id = $1 AND profile = 1 AND captured_at >= $2 AND captured_at < $3`,
      [a, from, to],
    );
    const data = res.body.data as {
      expected: number;
      collected: number;
      missing: number;
      days: { date: string; collected: number }[];
    };
    expect(data.expected).toBe(120);
    expect(data.collected).toBe(direct.rows[0].n);
    expect(data.missing).toBe(data.expected - data.collected);
    expect(data.days.reduce((n, d) => n + d.collected, 0)).toBe(data.collected);
    expect(data.days.map((d) => d.date)).toContain(to.toISOString().slice(0, 10));

    const day = new Date().toISOString().slice(0, 10);
    const fleet = await get(`/api/reports/completeness?date=${day}&area=LP`);
    expect(fleet.status).toBe(200);
    const f = fleet.body.data as {
      meters: number;
      metersComplete: number;
      metersWithGaps: number;
      intervalsCollected: number;
      shareCollected: number;
      worst: { meterId: string; missing: number }[];
    };
    const counted = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM load_profile_entries
       WHERE meter_id = ANY($1::uuid[]) AND profile = 1 AND captured_at >= $2::date AT TIME ZONE 'UTC'`,
      [ids(), day],
    );
    expect(f.meters).toBe(3);
    expect(f.metersComplete + f.metersWithGaps).toBe(3);
    // Today the fixture left every meter without the entries before its first collection: all have gaps.
    expect(f.metersWithGaps).toBe(3);
    expect(f.intervalsCollected).toBe(counted.rows[0].n);
    expect(f.shareCollected).toBeGreaterThan(0);
    expect(f.shareCollected).toBeLessThan(1);
    expect(f.worst).toHaveLength(3);
    expect((await get('/api/reports/completeness?date=2026-13-45')).status).toBe(400);
    expect((await get('/api/reports/completeness?area=NOPE')).status).toBe(404);
  });

  it('flags a meter whose clock is 2 minutes fast and, with CLOCK_SYNC=auto, sets it once, audited', async () => {
    const [, b] = ids();
    const n = numberOf(b);
    const since = new Date();
    stack.sim.control.setClock(n, { offsetMs: 120_000 });
    const commands = async () =>
      (
        await stack.db.query<{
          status: string;
          old_value: string | null;
          new_value: string;
          requested_by: string | null;
        }>(
          `SELECT status, old_value, new_value, requested_by FROM meter_commands
           WHERE meter_id = $1 AND obis_code = '0-0:1.0.0.255' AND requested_at >= $2 ORDER BY requested_at`,
          [b, since],
        )
      ).rows;
    const [synced] = await waitFor('the clock sync done', async () => {
      const rows = await commands();
      return rows.length > 0 && rows[0].status !== 'pending' && rows;
    });
    expect(synced.status).toBe('success');
    // The audit entry shows the clock it found: two minutes ahead of the time it was written.
    expect(Date.parse(synced.old_value!) - Date.parse(synced.new_value)).toBeGreaterThan(110_000);
    expect(synced.requested_by).toBeNull();
    await waitFor('the drift back within a second', async () => {
      const r = await stack.db.query<{ d: number }>('SELECT clock_drift_ms AS d FROM meters WHERE id = $1', [
        b,
      ]);
      return Math.abs(r.rows[0].d) <= 1500;
    });
    // Fast again within CLOCK_SYNC_MIN_INTERVAL: flagged in the report, but not synced a second time.
    stack.sim.control.setClock(n, { offsetMs: 120_000 });
    await waitFor('the drift report flagging it', async () => {
      const report = await get('/api/reports/clock-drift?area=LP');
      const m = (
        report.body.data.meters as { meterId: string; driftSeconds: number; flagged: boolean }[]
      ).find((x) => x.meterId === b);
      return m !== undefined && m.flagged && m.driftSeconds > 110 && m.driftSeconds < 130;
    });
    await sleep(4_000); // two more polls
    expect(await commands()).toHaveLength(1);
    const report = (await get('/api/reports/clock-drift')).body.data as {
      maxDriftSeconds: number;
      flagged: number;
    };
    expect(report.maxDriftSeconds).toBe(10);
    expect(report.flagged).toBeGreaterThanOrEqual(1);
  });
});
