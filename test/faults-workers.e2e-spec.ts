/**
 * Worker failures (issue 8, guarantee 2): an in-process api, two real worker processes and a simulator
 * with 30 meters (a third of them slow, so batches hold reads in flight long enough to be hit) polled
 * every 3 s on the standard test PostgreSQL and Redis. Faults, one after the other on the same stack:
 *  - a store failure injected once (a trigger on meter_reads that raises on the first insert after it is
 *    armed): the store is retried, nothing is lost, the retry is logged;
 *  - SIGTERM to a worker while it is reading: it exits 0 within SHUTDOWN_GRACE_MS with no stack trace,
 *    and the reads it had in flight are stored;
 *  - SIGKILL to a worker while it is reading: the other worker takes its batch over (BullMQ stalled-job
 *    recovery) and reads those meters within the same interval, polling goes on, and only the answers the
 *    dead worker held unstored are missing (at most one per meter it was reading).
 * Each fault is judged over a counting window opened and closed with polling paused (nothing in flight):
 * every answer the simulator counted is stored exactly once, every (meter, tick) of the window has
 * exactly one scheduled record, and no tick has two.
 */
import type { PollBatchPayload } from '@app/contracts';
import { StartedProcess, TestApi } from '@app/testing';
import type { Job } from 'bullmq';
import { Client } from 'pg';
import { RunningSimulator } from '../apps/simulator/src';
import {
  allAlive,
  crashLines,
  judgeWindow,
  KilledInFlight,
  killedWorkerReads,
  OnceStoreFailure,
  PendingMeterRequests,
  pollingResumed,
  PollingPause,
} from './fault-assertions';
import {
  configureOnlineAtGateway,
  pollingEnv,
  retireMeters,
  sleep,
  startPollingStack,
  startWorker,
  startWorkers,
  waitFor,
} from './polling-helpers';

const INTERVAL = 3000;
const TIMEOUT = 2000;
/** Slow meters answer after this: long enough to be caught in flight, short enough for a takeover. */
const SLOW_MS = 600;
const METERS = 30;
const GRACE_MS = 10_000;
const env = pollingEnv('hes-fault-w', {
  METER_POLLING_INTERVAL: String(INTERVAL),
  METER_TIMEOUT_MS: String(TIMEOUT),
  SHUTDOWN_GRACE_MS: String(GRACE_MS),
});

jest.setTimeout(150_000);

describe('worker failures lose no read (two workers, 30 meters, 3 s)', () => {
  let sim: RunningSimulator;
  let api: TestApi;
  let db: Client;
  let workers: StartedProcess[] = [];
  let idByNumber: Map<string, string>;
  let meterIds: string[];
  let pause: PollingPause;
  let pending: PendingMeterRequests;
  let storeFailure: OnceStoreFailure;
  /** Start of the current counting window (counters reset then, nothing in flight). */
  let since: Date;
  /** When polling resumed in that window: ticks due earlier waited in the paused queue. */
  let resumedAt: Date;

  const processes = () =>
    Object.fromEntries(workers.map((w, i) => [`worker ${i + 1} (pid ${w.child.pid})`, w]));

  /** Quiesces polling, resets the simulator's counters and resumes: a clean start for counting. */
  async function openWindow(): Promise<void> {
    ({ since, resumedAt } = await pause.openWindow(sim.controlUrl));
  }

  /** Opens a window, lets polling run one interval, and picks a worker holding meter reads in flight. */
  async function openWindowWithVictim(): Promise<StartedProcess> {
    await openWindow();
    await sleep(INTERVAL);
    return pending.waitForWorkerWithPending(workers, 3 * INTERVAL);
  }

  /**
   * Quiesces polling and judges the window: every answer stored once (with the dead worker's tolerance),
   * every tick of the window stored once, no tick twice. Returns the problems by check.
   */
  async function closeWindow(killedInFlight?: KilledInFlight) {
    const pausedAt = new Date();
    const stillActive = await pause.pause(2 * INTERVAL + 2000);
    const { answers, ticks, duplicates } = await judgeWindow({
      db,
      simulator: sim.controlUrl,
      meters: idByNumber,
      since,
      killedInFlight,
      resumedAt,
      pausedAt,
      intervalMs: INTERVAL,
      tickMeterIds: meterIds,
      duplicatesOf: meterIds,
    });
    console.log(
      `window ${since.toISOString()} → ${pausedAt.toISOString()}: answered ${answers.answered}, stored ` +
        `${answers.stored}, lost to a kill ${answers.lostToKill}; (meter, tick) pairs ${ticks.expected}, ` +
        `stored once ${ticks.storedOnce}; duplicate ticks ${duplicates.duplicates.length}; records without ` +
        `tick_at ${duplicates.withoutTick}; jobs still active at pause ${stillActive}`,
    );
    return {
      answers: answers.problems,
      ticks: ticks.problems,
      duplicates: duplicates.problems,
      alive: allAlive(processes()).problems,
    };
  }
  const clean = { answers: [], ticks: [], duplicates: [], alive: [] };

  beforeAll(async () => {
    let token: string;
    ({ db, sim, api, token, idByNumber, meterIds } = await startPollingStack(
      env,
      { meters: METERS, format: 'mixed', seed: 8, prefix: 'FW', faults: { slow: 1 / 3 }, slowMs: SLOW_MS },
      'FAULT-W',
    ));
    storeFailure = new OnceStoreFailure(db);
    await storeFailure.install();
    pause = PollingPause.connect({ REDIS_URL: process.env.REDIS_URL, QUEUE_PREFIX: env.QUEUE_PREFIX });
    pending = new PendingMeterRequests(Number(new URL(sim.gatewayUrl).port));
    workers = await startWorkers(env, 2);
    const configuredAt = new Date();
    await configureOnlineAtGateway(api, token, meterIds, sim);
    const started = await pollingResumed(db, {
      meterIds,
      after: configuredAt,
      intervalMs: INTERVAL,
      intervals: 3,
      successfulOnly: true,
    });
    expect(started.problems).toEqual([]);
  });

  afterAll(async () => {
    pending?.close();
    await pause?.resume().catch(() => undefined);
    await pause?.close();
    await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    await api?.close();
    if (db) {
      if (meterIds) await retireMeters(db, meterIds);
      await storeFailure?.remove().catch(() => undefined);
    }
    await sim?.stop();
    await db?.end();
  });

  it('the database refuses a second scheduled record of one meter and tick, in every partition', async () => {
    // The partitions the workers created at start-up (today and the next days) included.
    const { rows: partitions } = await db.query<{ name: string; keyed: boolean }>(
      `SELECT c.relname AS name, EXISTS (
                SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
                  AND pg_get_indexdef(i.indexrelid) LIKE '%(meter_id, tick_at)%') AS keyed
       FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
       WHERE h.inhparent = 'meter_reads'::regclass ORDER BY 1`,
    );
    expect(partitions.length).toBeGreaterThanOrEqual(2);
    expect(partitions.filter((p) => !p.keyed).map((p) => p.name)).toEqual([]);

    const insert = `INSERT INTO meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms, tick_at)
                    VALUES ($1, now(), 'scheduled', 'failed', 0, date_trunc('second', now()))`;
    await db.query('BEGIN');
    try {
      await db.query(insert, [meterIds[0]]);
      await expect(db.query(insert, [meterIds[0]])).rejects.toMatchObject({ code: '23505' });
    } finally {
      await db.query('ROLLBACK');
    }
  });

  it('a store that fails once is retried: no read lost, none stored twice, and the retry is logged', async () => {
    await openWindow();
    await sleep(INTERVAL);
    await storeFailure.arm();
    await waitFor('the injected store failure to fire', () => storeFailure.fired(), 3 * INTERVAL, 50);
    await sleep(2 * INTERVAL);
    expect(await closeWindow()).toEqual(clean);
    const retryLines = workers
      .flatMap((w) => w.output().split('\n'))
      .filter((line) => /injected store failure/.test(line) && /retr(y|ies|ying|ied)/i.test(line));
    console.log(`store retry logged: ${retryLines.join(' | ') || 'nothing'}`);
    expect(retryLines.length).toBeGreaterThanOrEqual(1);
  });

  it('a worker stopped with SIGTERM mid-batch stores its in-flight reads and exits 0 within SHUTDOWN_GRACE_MS, cleanly', async () => {
    const victim = await openWindowWithVictim();
    const victimPid = victim.child.pid!;
    const inFlight = pending.byProcess([victimPid]).get(victimPid);
    const stoppedAt = Date.now();
    const code = await victim.stop('SIGTERM', GRACE_MS + 10_000);
    const tookMs = Date.now() - stoppedAt;
    console.log(`SIGTERM with ${inFlight} meter reads in flight: exit ${code} after ${tookMs} ms`);
    workers = workers.filter((w) => w !== victim);
    // A replacement boots meanwhile, for the next fault; the survivor polls alone until it is ready.
    const replacement = startWorker(env);
    await sleep(2 * INTERVAL);
    const report = await closeWindow();
    workers.push(await replacement);
    expect({
      code,
      signal: victim.child.signalCode,
      inTime: tookMs <= GRACE_MS,
      crash: crashLines(victim.output()),
    }).toEqual({
      code: 0,
      signal: null,
      inTime: true,
      crash: [],
    });
    expect(report).toEqual(clean);
  });

  it('a worker SIGKILLed mid-batch: the other worker reads its meters within the same interval, polling goes on', async () => {
    const victim = await openWindowWithVictim();
    const victimPid = victim.child.pid!;
    victim.child.kill('SIGKILL');
    const killedAt = new Date();
    // The dead worker's batches stay active until they are found stalled; the survivor's may be there too.
    const activeAtKill = (await pause.pollQueue.getActive()) as Job<PollBatchPayload>[];
    await victim.stop('SIGKILL');
    const survivors = workers.filter((w) => w !== victim);

    const resumed = await pollingResumed(db, {
      meterIds,
      after: killedAt,
      intervalMs: INTERVAL,
      intervals: 2,
      successfulOnly: true,
    });
    console.log(
      `SIGKILL of pid ${victimPid} at ${killedAt.toISOString()} with ${activeAtKill.length} job(s) active; ` +
        `every meter read again ${resumed.allReadAfterMs} ms after`,
    );
    workers = survivors;
    const killed = await killedWorkerReads(pause.pollQueue, activeAtKill);
    const batches = killed.jobs.map((j) => j.data as PollBatchPayload);
    const report = await closeWindow(killed);
    // Every meter of the dead worker's batches has a successful scheduled read started in its tick's interval.
    const notTakenOver: string[] = [];
    for (const b of batches) {
      const { rows } = await db.query<{ meter_id: string }>(
        `SELECT DISTINCT meter_id FROM meter_reads
         WHERE meter_id = ANY($1::uuid[]) AND reading_type = 'scheduled' AND communication_status <> 'failed'
           AND read_at >= $2 AND read_at < $3 AND (tick_at IS NULL OR tick_at = $2)`,
        [b.meterIds, new Date(b.tickAt), new Date(b.tickAt + INTERVAL)],
      );
      const read = new Set(rows.map((r) => r.meter_id));
      const missed = b.meterIds.filter((id) => !read.has(id));
      if (missed.length)
        notTakenOver.push(
          `tick ${new Date(b.tickAt).toISOString()}: ${missed.length} of ${b.meterIds.length} meters not read in the interval`,
        );
    }

    expect({ ...report, killedBatches: batches.length > 0, notTakenOver, resumed: resumed.problems }).toEqual(
      {
        ...clean,
        killedBatches: true,
        notTakenOver: [],
        resumed: [],
      },
    );
  });
});
