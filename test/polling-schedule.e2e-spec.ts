/**
 * The fleet-wide polling interval and schedule recovery (issue 8, guarantee 3): two api instances started
 * with different METER_POLLING_INTERVAL agree on the stored interval and never rewrite each other's
 * schedulers; an admin changes the interval for the whole fleet; after a flush of Redis under a running
 * stack (two apis, a worker, a simulator), every meter is read again within max(2 intervals, 10 s)
 * without anybody calling the reconciliation by hand.
 */
import { bullRootOptions, POLL_SCHEDULERS, pollSlotCount, QUEUES } from '@app/contracts';
import { adminToken, createTestApi, loginAs, StartedProcess, TestApi } from '@app/testing';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { PollScheduleService, SCHEDULE_CHECK_EVERY_MS } from '../apps/api/src/polling/poll-schedule.service';
import type { PollingStatus } from '../apps/api/src/polling/polling-status.service';
import { RunningSimulator, startSimulator } from '../apps/simulator/src';
import {
  configureOnlineAtGateway,
  connectDb,
  pollingEnv,
  registerSimulatorMeters,
  retireMeters,
  sleep,
  startWorker,
  waitFor,
} from './polling-helpers';

const PREFIX = 'hes-sched';
const SEEDED = 2000;
/** What the second api instance's environment asks for; the stored (seeded) interval wins. */
const OTHER_ENV = 5000;
/** The interval an admin sets before the flush test (the brief's 3 s). */
const CHANGED = 3000;
const METERS = 12;

jest.setTimeout(180_000);

interface SchedulerView {
  id: string;
  every: number | null;
  offset: number | null;
}

describe('fleet-wide polling interval and schedule recovery', () => {
  let apiA: TestApi;
  let apiB: TestApi;
  let queue: Queue;
  let db: Client;
  let sim: RunningSimulator | undefined;
  let worker: StartedProcess | undefined;
  let meterIds: string[] = [];
  const warnings: string[] = [];

  const schedulers = async (): Promise<SchedulerView[]> =>
    (await queue.getJobSchedulers(0, -1, true))
      .map((s) => ({ id: s.id ?? s.key, every: s.every ?? null, offset: s.offset ?? null }))
      .sort((a, b) => a.id.localeCompare(b.id));

  const slotSchedulers = (intervalMs: number): SchedulerView[] =>
    Array.from({ length: pollSlotCount(intervalMs) }, (_, s) => `${POLL_SCHEDULERS.SLOT_PREFIX}${s}`).map(
      (id) => ({ id, every: intervalMs, offset: expect.any(Number) as unknown as number }),
    );

  /** A full reconciliation on `api`; `ran: false` means the other instance held the lock, so try again. */
  const reconcileOn = (api: TestApi) =>
    waitFor('the reconciliation lock', async () => {
      const result = await api.app.get(PollScheduleService).reconcile();
      return result.ran && result;
    });

  const storedInterval = async (): Promise<unknown> =>
    (
      await db.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [
        `polling.intervalMs:${PREFIX}`,
      ])
    ).rows[0]?.value;

  async function status(api: TestApi): Promise<PollingStatus> {
    const res = await request(api.server)
      .get('/api/meters/polling/status')
      .set('Authorization', `Bearer ${await loginAs(api, 'viewer')}`);
    expect(res.status).toBe(200);
    return res.body.data as PollingStatus;
  }

  beforeAll(async () => {
    db = await connectDb();
    await db.query('DELETE FROM settings WHERE key = $1', [`polling.intervalMs:${PREFIX}`]);
    queue = new Queue(QUEUES.POLL, bullRootOptions(process.env.REDIS_URL!, PREFIX));
    const warn = jest.spyOn(Logger.prototype, 'warn');
    warn.mockImplementation(function (this: Logger, message: unknown) {
      warnings.push(String(message));
    });
    // One after the other, so that the first one seeds the stored interval.
    apiA = await createTestApi(pollingEnv(PREFIX, { METER_POLLING_INTERVAL: String(SEEDED) }));
    await waitFor('the first api to seed the interval', async () => (await storedInterval()) !== undefined);
    apiB = await createTestApi(pollingEnv(PREFIX, { METER_POLLING_INTERVAL: String(OTHER_ENV) }));
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await worker?.stop('SIGTERM');
    await apiA?.close();
    await apiB?.close();
    if (db && meterIds.length) await retireMeters(db, meterIds);
    await sim?.stop();
    await queue?.close();
    await db?.end();
  });

  it('two api instances started with different METER_POLLING_INTERVAL use the stored one and never rewrite each other', async () => {
    expect(await storedInterval()).toBe(SEEDED);
    await waitFor('the second api to warn that its environment is not in force', async () =>
      warnings.some((w) => w.includes(`METER_POLLING_INTERVAL=${OTHER_ENV} is not in force`)),
    );
    expect((await status(apiA)).pollingIntervalMs).toBe(SEEDED);
    expect((await status(apiB)).pollingIntervalMs).toBe(SEEDED);

    const initial = await waitFor('complete schedules', async () => {
      const now = await schedulers();
      return now.length === pollSlotCount(SEEDED) + 1 && now;
    });
    expect(initial).toEqual(
      expect.arrayContaining([
        ...slotSchedulers(SEEDED),
        expect.objectContaining({ id: POLL_SCHEDULERS.MAINTENANCE }),
      ]),
    );
    expect(initial).toHaveLength(pollSlotCount(SEEDED) + 1);

    // Forced rounds, alternating instances: each finds nothing to change.
    for (let round = 0; round < 3; round++) {
      for (const api of [apiA, apiB]) {
        expect(await reconcileOn(api)).toEqual({ ran: true, added: [], removed: [] });
      }
    }
    // And over more than two periodic check rounds of both instances, the schedulers do not move.
    const until = Date.now() + 2 * SCHEDULE_CHECK_EVERY_MS + 2000;
    while (Date.now() < until) {
      expect(await schedulers()).toEqual(initial);
      await sleep(500);
    }
  });

  it('an admin changes the fleet-wide interval; bad input and other roles get a 4xx envelope', async () => {
    const put = async (api: TestApi, token: string, body: unknown) =>
      request(api.server)
        .put('/api/meters/polling/interval')
        .set('Authorization', `Bearer ${token}`)
        .send(body as object);
    const admin = await adminToken(apiB);

    expect((await request(apiB.server).put('/api/meters/polling/interval').send({})).status).toBe(401);
    const operator = await put(apiB, await loginAs(apiB, 'operator'), { intervalMs: CHANGED });
    expect(operator.status).toBe(403);
    expect(operator.body).toMatchObject({ success: false, error: expect.any(String) });
    for (const bad of [
      {},
      { intervalMs: 999 },
      { intervalMs: 1500.5 },
      { intervalMs: '3000x' },
      { intervalMs: 86_400_001 },
      { intervalMs: 3000, extra: true },
    ]) {
      const res = await put(apiB, admin, bad);
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect(res.body).toMatchObject({ success: false, message: expect.any(String), error: 'Bad Request' });
    }
    expect((await status(apiA)).pollingIntervalMs).toBe(SEEDED);

    const res = await put(apiB, admin, { intervalMs: CHANGED });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      data: { intervalMs: CHANGED, previousIntervalMs: SEEDED, schedulesUpdated: true },
    });
    // Applied at once by the instance that took the request...
    const after = await schedulers();
    expect(after).toEqual(
      expect.arrayContaining([
        ...slotSchedulers(CHANGED),
        expect.objectContaining({ id: POLL_SCHEDULERS.MAINTENANCE }),
      ]),
    );
    expect(after).toHaveLength(pollSlotCount(CHANGED) + 1);
    // ...and every instance reports and keeps it.
    expect((await status(apiA)).pollingIntervalMs).toBe(CHANGED);
    expect(await reconcileOn(apiA)).toEqual({ ran: true, added: [], removed: [] });
  });

  it('after Redis loses its data under a running stack, every meter is read again within max(2 intervals, 10 s)', async () => {
    const env = pollingEnv(PREFIX, { METER_POLLING_INTERVAL: String(CHANGED), METER_TIMEOUT_MS: '1000' });
    sim = await startSimulator({ meters: METERS, format: 'mixed', seed: 81, prefix: 'SCH' });
    worker = await startWorker(env);
    const registered = await registerSimulatorMeters(apiA, 'SCHED', sim);
    meterIds = registered.meterIds;
    await configureOnlineAtGateway(apiA, registered.token, meterIds, sim);

    const readSince = async (since: Date) => {
      const { rows } = await db.query<{ meter_id: string; first: Date }>(
        `SELECT meter_id, min(read_at) AS first FROM meter_reads
         WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND communication_status = 'success'
           AND read_at > $2 GROUP BY meter_id`,
        [meterIds, since],
      );
      return rows;
    };
    await waitFor(
      'every meter polled before the flush',
      async () => (await readSince(new Date(0))).length === METERS,
      30_000,
    );

    const redis = new Redis(process.env.REDIS_URL!);
    try {
      await redis.flushdb();
    } finally {
      redis.disconnect();
    }
    const flushedAt = new Date();
    expect(await queue.getJobSchedulersCount()).toBe(0);

    const budget = Math.max(2 * CHANGED, 10_000);
    const reads = await waitFor(
      'a successful scheduled read of every meter after the flush',
      async () => {
        const rows = await readSince(flushedAt);
        return rows.length === METERS && rows;
      },
      budget + 10_000,
    );
    const slowest = Math.max(...reads.map((r) => r.first.getTime() - flushedAt.getTime()));
    expect(slowest).toBeLessThanOrEqual(budget);
    expect(await schedulers()).toHaveLength(pollSlotCount(CHANGED) + 1);
    expect(worker.child.exitCode).toBeNull();
  });
});
