/**
 * Scheduled polling end to end (issue 4, tests 1, 4, 7 and 8): the in-process api owns the schedules,
 * two real worker processes poll 20 simulated meters every 2 s, everything is checked against
 * PostgreSQL and the simulator's own counters.
 */
import type { PollingStatus } from '../apps/api/src/polling/polling-status.service';
import {
  bullRootOptions,
  QUEUES,
  intervalIndex,
  POLL_BUCKETS,
  pollSlotCount,
  slotBucketRange,
  slotOffsetMs,
} from '@app/contracts';
import { decodeReadValues, type ReadLayout, type StoredQualities, type StoredRawValue } from '@app/database';
import { loginAs, StartedProcess, TestApi } from '@app/testing';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { PollScheduleService } from '../apps/api/src/polling/poll-schedule.service';
import request from 'supertest';
import { RunningSimulator } from '../apps/simulator/src';
import {
  configureOnlineAtGateway,
  pollingEnv,
  retireMeters,
  sleep,
  startPollingStack,
  startWorkers,
  waitFor,
} from './polling-helpers';

const INTERVAL = 2000;
const TIMEOUT = 1000;
const METERS = 20;
const env = pollingEnv('hes-poll-a', {
  METER_POLLING_INTERVAL: String(INTERVAL),
  METER_TIMEOUT_MS: String(TIMEOUT),
});

jest.setTimeout(180_000);

describe('scheduled polling (two workers, 20 meters)', () => {
  let sim: RunningSimulator;
  let api: TestApi;
  let db: Client;
  let token: string;
  let workers: StartedProcess[] = [];
  let idByNumber: Map<string, string>;
  let meterIds: string[];

  /** When the meter's slot ticks within an interval, from its stable bucket. */
  async function slotOffsets(): Promise<Map<string, number>> {
    const slots = pollSlotCount(INTERVAL);
    const { rows } = await db.query<{ id: string; poll_bucket: number }>(
      'SELECT id, poll_bucket FROM meters WHERE id = ANY($1::uuid[])',
      [meterIds],
    );
    const offsets = new Map<string, number>();
    for (const r of rows) {
      const slot = Array.from({ length: slots }, (_, s) => s).find((s) => {
        const { from, to } = slotBucketRange(s, slots);
        return r.poll_bucket >= from && r.poll_bucket < to;
      });
      expect(slot).toBeDefined();
      expect(r.poll_bucket).toBeLessThan(POLL_BUCKETS);
      offsets.set(r.id, slotOffsetMs(slot!, slots, INTERVAL));
    }
    return offsets;
  }

  /** The tick a read at `t` belongs to: the latest tick of the meter's slot at or before t. */
  const tickOf = (t: number, offset: number) => intervalIndex(t - offset, INTERVAL);

  async function status(): Promise<PollingStatus> {
    const res = await request(api.server)
      .get('/api/meters/polling/status')
      .set('Authorization', `Bearer ${await loginAs(api, 'viewer')}`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    return res.body.data;
  }

  beforeAll(async () => {
    ({ db, sim, api, token, idByNumber, meterIds } = await startPollingStack(
      env,
      { meters: METERS, format: 'mixed', seed: 4, prefix: 'PA' },
      'POLL-A',
    ));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    await api?.close();
    if (db && meterIds) await retireMeters(db, meterIds);
    await sim?.stop();
    await db?.end();
  });

  it('reports not polling while no worker is alive, and is authenticated', async () => {
    const unauthenticated = await request(api.server).get('/api/meters/polling/status');
    expect(unauthenticated.status).toBe(401);
    const s = await status();
    expect(s).toMatchObject({ isPolling: false, workers: 0, pollingIntervalMs: INTERVAL, activePolls: 0 });
    expect(s.queues.poll).toEqual(
      expect.objectContaining({ waiting: expect.any(Number), delayed: expect.any(Number) }),
    );
  });

  it('test 1: every meter configured through the batch endpoint has a stored read within two intervals, matching the simulator', async () => {
    workers = await startWorkers(env, 2);
    const configuredAt = Date.now();
    await configureOnlineAtGateway(api, token, meterIds, sim);

    const firstReads = await waitFor(
      'a successful scheduled read of every meter',
      async () => {
        const { rows } = await db.query<{ meter_id: string; first: Date }>(
          `SELECT meter_id, min(read_at) AS first FROM meter_reads
           WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND communication_status = 'success'
           GROUP BY meter_id`,
          [meterIds],
        );
        return rows.length === METERS && rows;
      },
      4 * INTERVAL + 20_000,
    );
    const latest = Math.max(...firstReads.map((r) => r.first.getTime()));
    expect(latest - configuredAt).toBeLessThanOrEqual(2 * INTERVAL);

    // Compare each meter's latest stored read with what the simulator says it answered to that read.
    const numberById = new Map([...idByNumber].map(([n, id]) => [id, n]));
    for (const id of meterIds) {
      await waitFor(`stored values of ${numberById.get(id)} equal to the simulator's answer`, async () => {
        const { rows } = await db.query<{
          read_at: Date;
          layout: ReadLayout;
          raw: StoredRawValue[];
          qualities: StoredQualities | null;
        }>(
          `SELECT r.read_at, json_build_object('codes', l.codes, 'scalers', l.scalers, 'units', l.units) AS layout,
                  r.raw, r.qualities
             FROM meter_reads r JOIN read_layouts l ON l.id = r.layout_id
            WHERE r.meter_id = $1 AND r.communication_status = 'success'
            ORDER BY r.read_at DESC LIMIT 1`,
          [id],
        );
        const served = sim.control.meterState(numberById.get(id)!)?.lastServed;
        if (!rows[0] || !served || Math.abs(served.at - rows[0].read_at.getTime()) > 500) return false;
        const stored = decodeReadValues(rows[0].layout, rows[0].raw, rows[0].qualities, () => null);
        expect(stored).toHaveLength(17);
        for (const r of stored) {
          const truth = served.values[r.obisCode];
          expect(truth).toBeDefined();
          expect(r.quality).not.toBe('error');
          if (typeof truth.physical === 'number') {
            expect(typeof r.value).toBe('number');
            expect(Math.abs((r.value as number) - truth.physical)).toBeLessThanOrEqual(
              1e-9 * Math.max(1, Math.abs(truth.physical)),
            );
          } else {
            expect(r.value).toBe(truth.physical);
          }
        }
        return true;
      });
    }

    const { rows: current } = await db.query(
      'SELECT count(*)::int AS n FROM meter_current_readings WHERE meter_id = ANY($1::uuid[])',
      [meterIds],
    );
    expect(current[0].n).toBe(METERS);
    const { rows: seen } = await db.query(
      `SELECT count(*)::int AS n FROM meters WHERE id = ANY($1::uuid[]) AND status = 'online' AND last_seen IS NOT NULL`,
      [meterIds],
    );
    expect(seen[0].n).toBe(METERS);
  });

  it('test 4: over several intervals each meter is read exactly once per interval (simulator counters and database)', async () => {
    const offsets = await slotOffsets();
    const windowStart = Date.now() + 100;
    await sleep(5 * INTERVAL + TIMEOUT);
    const windowEnd = Date.now() - TIMEOUT - 500;
    const counters = sim.control.counters({ recentReads: true });
    const { rows } = await db.query<{ meter_id: string; read_at: Date }>(
      `SELECT meter_id, read_at FROM meter_reads WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled'`,
      [meterIds],
    );
    for (const [number, id] of idByNumber) {
      const offset = offsets.get(id)!;
      const expected: number[] = [];
      for (let k = tickOf(windowStart, offset) + 1; k * INTERVAL + offset <= windowEnd; k++) expected.push(k);
      expect(expected.length).toBeGreaterThanOrEqual(4);

      const simTicks = (counters.meters[number]?.recentReads ?? []).map((t) => tickOf(t, offset));
      const dbTicks = rows.filter((r) => r.meter_id === id).map((r) => tickOf(r.read_at.getTime(), offset));
      for (const ticks of [simTicks, dbTicks]) {
        // Never twice in one interval (over the whole history), and once in every interval of the window.
        expect(new Set(ticks).size).toBe(ticks.length);
        for (const k of expected) expect(ticks).toContain(k);
      }
    }
  });

  it('test 8: polling status reflects reality (counts equal the database)', async () => {
    const deadNumbers = sim.meters.slice(0, 3).map((m) => m.meterNumber);
    await sim.control.setFaults('dead', deadNumbers);
    const faultAt = Date.now();
    const deadIds = deadNumbers.map((n) => idByNumber.get(n)!);
    await waitFor(
      'the dead meters to go offline',
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM meters WHERE id = ANY($1::uuid[]) AND status = 'offline'`,
          [deadIds],
        );
        return rows[0].n === 3;
      },
      6 * INTERVAL + 10_000,
    );
    // Wait until the reported interval starts after the fault, so it holds failed reads too.
    const s = await waitFor(
      'a reported interval after the fault',
      async () => {
        const st = await status();
        return new Date(st.lastInterval.from).getTime() >= faultAt && st;
      },
      10 * INTERVAL + 15_000,
      500,
    );
    const { rows: meterCounts } = await db.query(
      `SELECT count(*) FILTER (WHERE status = 'online')::int AS online,
              count(*) FILTER (WHERE status = 'offline')::int AS offline
       FROM meters WHERE deleted_at IS NULL`,
    );
    expect(s.onlineMeterCount).toBe(meterCounts[0].online);
    expect(s.offlineMeterCount).toBe(meterCounts[0].offline);
    expect(s.offlineMeterCount).toBeGreaterThanOrEqual(3);
    expect(s).toMatchObject({
      isPolling: true,
      pollingIntervalMs: INTERVAL,
      workers: 2,
      maxConcurrentPolls: 100,
    });
    expect(s.activePolls).toBeGreaterThanOrEqual(0);
    expect(s.activePolls).toBeLessThanOrEqual(s.maxConcurrentPolls);
    for (const q of [s.queues.poll, s.queues.command]) {
      expect(q).toEqual({
        waiting: expect.any(Number),
        active: expect.any(Number),
        delayed: expect.any(Number),
        failed: expect.any(Number),
      });
    }

    const { rows: reads } = await db.query(
      `SELECT count(*)::int AS polled,
              count(*) FILTER (WHERE communication_status <> 'failed')::int AS succeeded,
              count(*) FILTER (WHERE communication_status = 'failed')::int AS failed,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY response_time_ms) AS p99
       FROM meter_reads WHERE reading_type = 'scheduled' AND read_at >= $1 AND read_at < $2`,
      [s.lastInterval.from, s.lastInterval.to],
    );
    const truth = reads[0];
    expect(new Date(s.lastInterval.to).getTime() - new Date(s.lastInterval.from).getTime()).toBe(INTERVAL);
    expect({
      polled: s.lastInterval.polled,
      succeeded: s.lastInterval.succeeded,
      failed: s.lastInterval.failed,
    }).toEqual({
      polled: truth.polled,
      succeeded: truth.succeeded,
      failed: truth.failed,
    });
    expect(truth.polled).toBeGreaterThanOrEqual(METERS - 3);
    const near = (approx: number, exact: number) => Math.abs(approx - exact) <= Math.max(2, 0.06 * exact);
    expect(near(s.lastInterval.responseTimeMs.p50 ?? -1, truth.p50)).toBe(true);
    expect(near(s.lastInterval.responseTimeMs.p99 ?? -1, truth.p99)).toBe(true);
  });

  it('test 7: a worker killed with SIGKILL mid-interval: the other carries on, no meter unread for more than two intervals', async () => {
    const deadNumbers = new Set(sim.meters.slice(0, 3).map((m) => m.meterNumber));
    await sim.control.setFaults('ok', [...deadNumbers]);
    const healthyIds = [...idByNumber].filter(([n]) => !deadNumbers.has(n)).map(([, id]) => id);

    // Mid-interval: half-way between two slot ticks, while batches are being read.
    const phase = Date.now() % INTERVAL;
    await sleep((INTERVAL + INTERVAL / 4 - phase) % INTERVAL);
    const killedAt = Date.now();
    await workers[0].stop('SIGKILL');
    await sleep(5 * INTERVAL);
    const checkUntil = Date.now() - TIMEOUT - 500;

    const { rows } = await db.query<{ meter_id: string; read_at: Date }>(
      `SELECT meter_id, read_at FROM meter_reads
       WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND read_at >= $2 ORDER BY read_at`,
      [healthyIds, new Date(killedAt - 2 * INTERVAL)],
    );
    for (const id of healthyIds) {
      const times = rows.filter((r) => r.meter_id === id).map((r) => r.read_at.getTime());
      expect(times.length).toBeGreaterThanOrEqual(4);
      const points = [killedAt - 2 * INTERVAL, ...times.filter((t) => t <= checkUntil), checkUntil];
      const gaps = points.slice(1).map((t, i) => t - points[i]);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * INTERVAL + 500);
    }
    // The survivor keeps beating; the dead one drops out of the live count when its heartbeat expires.
    await waitFor(
      'the live worker count to drop to 1',
      async () => (await status()).workers === 1,
      20_000,
      500,
    );
    expect(workers[1].child.exitCode).toBeNull();
  });

  it('restores every schedule after a Redis flush at the next reconciliation, and polling resumes', async () => {
    const redis = new Redis(process.env.REDIS_URL!);
    const queue = new Queue(QUEUES.POLL, bullRootOptions(process.env.REDIS_URL!, env.QUEUE_PREFIX));
    try {
      expect(await queue.getJobSchedulersCount()).toBe(pollSlotCount(INTERVAL) + 1);
      await redis.flushdb();
      expect(await queue.getJobSchedulersCount()).toBe(0);
      const flushedAt = Date.now();
      // What the api's 30-second reconciliation timer runs.
      const result = await api.app.get(PollScheduleService).reconcile();
      expect(result.ran).toBe(true);
      expect(await queue.getJobSchedulersCount()).toBe(pollSlotCount(INTERVAL) + 1);
      // Reconciling again changes nothing (no duplicate or re-created schedulers).
      expect(await api.app.get(PollScheduleService).reconcile()).toEqual({
        ran: true,
        added: [],
        removed: [],
      });
      await waitFor(
        'a successful read of every meter after the flush',
        async () => {
          const { rows } = await db.query(
            `SELECT count(DISTINCT meter_id)::int AS n FROM meter_reads
             WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND communication_status = 'success'
               AND read_at > $2`,
            [meterIds, new Date(flushedAt)],
          );
          return rows[0].n === METERS;
        },
        4 * INTERVAL + 10_000,
      );
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('SIGTERM: the worker finishes its in-flight reads and stores them before it exits', async () => {
    const survivor = workers[1];
    await workers[0].stop('SIGKILL'); // already gone after test 7; only the survivor may talk to meters
    await sim.control.setFaults(
      'slow',
      sim.meters.map((m) => m.meterNumber),
      { slowMs: 700 },
    );
    sim.control.resetCounters();
    await sleep(INTERVAL);
    const inFlight = await waitFor(
      'scheduled reads in flight',
      async () => {
        const { meters } = sim.control.counters();
        const busy = Object.entries(meters).filter(([, c]) => c.reads > c.answered);
        return busy.length > 0 && new Map(busy.map(([n, c]) => [n, c.reads]));
      },
      10_000,
      20,
    );
    const sigtermAt = Date.now();
    await survivor.stop('SIGTERM');
    const stoppedIn = Date.now() - sigtermAt;
    const answered = sim.control.counters().meters;
    for (const [number, readsAtSigterm] of inFlight) {
      // The meter answered while the worker was still listening, and the read was stored.
      expect(answered[number].answered).toBeGreaterThanOrEqual(readsAtSigterm);
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM meter_reads WHERE meter_id = $1 AND reading_type = 'scheduled'
           AND communication_status = 'success' AND read_at BETWEEN $2 AND $3`,
        [idByNumber.get(number), new Date(sigtermAt - 1000), new Date(sigtermAt)],
      );
      expect(rows[0].n).toBe(1);
    }
    expect(survivor.output()).not.toMatch(/Cannot use a pool|Connection is closed|"level":"error"/);
    // It waited for the slow meters (700 ms) rather than dropping them.
    expect(stoppedIn).toBeGreaterThanOrEqual(100);
  });
});
