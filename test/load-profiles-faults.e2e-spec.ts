/**
 * Load profile collection at the simulator's real 15-minute capture period (issue 12), on a PostgreSQL and
 * Redis of this suite's own, with two real worker processes, an in-process api and the simulator:
 *  - a meter unreachable for two hours is back-filled, every missing interval exactly once, by the one
 *    collection its return triggers (no waiting for the next hourly slot, let alone two hours);
 *  - PostgreSQL restarted (fast shutdown) while the workers are reading profiles, then
 *  - a worker SIGKILLed while it is reading profiles:
 *    afterwards every interval the simulator holds for the range is stored exactly once (the database's
 *    primary key is what makes it "once"), no other process died, and collection resumed by itself.
 * The scenarios share one stack and run in order; each fault works on meters of its own.
 */
import { bullRootOptions, PROFILE_JOBS, QUEUES } from '@app/contracts';
import {
  createTestApi,
  DedicatedServices,
  startDedicatedServices,
  StartedProcess,
  type TestApi,
} from '@app/testing';
import { Job, Queue } from 'bullmq';
import { Pool } from 'pg';
import request from 'supertest';
import { RunningSimulator, startSimulator } from '../apps/simulator/src';
import { allAlive, PendingMeterRequests, PollingPause } from './fault-assertions';
import {
  configureOnlineAtGateway,
  pollingEnv,
  registerSimulatorMeters,
  startWorkers,
  waitFor,
} from './polling-helpers';

/** The simulator's default capture period: 15 minutes. */
const PERIOD_MS = 900_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Meters of each fault scenario (each reads 3 days = 288 entries, 3 pages). */
const GROUP = 12;
/** Every meter answers after this, so that a collection has meter reads in flight long enough to be hit. */
const SLOW_MS = 120;
/** Where each fault scenario's collection starts: three days of profile to read per meter. */
const BEHIND_MS = 3 * DAY_MS;

jest.setTimeout(120_000);

interface CollectResult {
  meters: number;
  entries: number;
  stored: number;
  failed: number;
}

describe('load profile collection at 15 minutes: a 2-hour outage back-filled, PostgreSQL restart and worker kill', () => {
  let services: DedicatedServices;
  let sim: RunningSimulator;
  let api: TestApi;
  let db: Pool;
  let polling: PollingPause;
  let queue: Queue;
  let workers: StartedProcess[] = [];
  let pending: PendingMeterRequests;
  let token: string;
  let idByNumber: Map<string, string>;
  let meterIds: string[];

  const numberOf = (id: string) => [...idByNumber].find(([, v]) => v === id)![0];
  /** The latest capture instant at or before t. */
  const boundaryAt = (t: number) => Math.floor(t / PERIOD_MS) * PERIOD_MS;
  const status = async (id: string) =>
    (await db.query<{ status: string }>('SELECT status FROM meters WHERE id = $1', [id])).rows[0].status;
  const processes = () =>
    Object.fromEntries(workers.map((w, i) => [`worker ${i + 1} (pid ${w.child.pid})`, w]));

  /** Stored capture instants of a meter in (after, upTo], with how many rows each has. */
  const stored = async (meterId: string, after: number, upTo: number) =>
    (
      await db.query<{ t: Date; n: number; status: number }>(
        `SELECT captured_at AS t, count(*)::int AS n, min(status) AS status FROM load_profile_entries
         WHERE meter_id = $1 AND profile = 1 AND captured_at > $2 AND captured_at <= $3
         GROUP BY captured_at ORDER BY captured_at`,
        [meterId, new Date(after), new Date(upTo)],
      )
    ).rows;

  /** What the meter holds in (after, upTo], asked over the meter protocol as the head-end asks (paging). */
  const inMeterMemory = async (meterNumber: string, after: number, upTo: number) => {
    const out: { t: number; status: number }[] = [];
    let from = after + 1;
    for (;;) {
      const res = await fetch(new URL('/api/read', sim.gatewayUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          meterNumber,
          profile: '1-0:99.1.0.255',
          from: new Date(from).toISOString(),
          to: new Date(upTo).toISOString(),
        }),
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { entries: [string, number, number, number][]; more: boolean };
      for (const [ts, , , s] of page.entries) out.push({ t: Date.parse(ts), status: s });
      if (!page.more || page.entries.length === 0) return out;
      from = out[out.length - 1].t + 1;
    }
  };

  /**
   * Per meter, what differs between the meter's memory and the database over (after, upTo]: an interval
   * missing, stored twice, or stored without being in the meter's memory. Empty when all is stored once.
   */
  const differences = async (ids: readonly string[], after: number, upTo: number) => {
    const problems: string[] = [];
    let intervals = 0;
    for (const id of ids) {
      const memory = await inMeterMemory(numberOf(id), after, upTo);
      const rows = await stored(id, after, upTo);
      intervals += memory.length;
      const held = new Set(memory.map((e) => e.t));
      const have = new Map(rows.map((r) => [r.t.getTime(), r.n]));
      const missing = memory.filter((e) => !have.has(e.t)).length;
      const twice = rows.filter((r) => r.n > 1).length;
      const extra = rows.filter((r) => !held.has(r.t.getTime())).length;
      if (missing || twice || extra)
        problems.push(
          `${numberOf(id)}: ${memory.length} in memory, ${missing} missing, ${twice} stored twice, ${extra} not in memory`,
        );
    }
    return { intervals, problems };
  };

  /**
   * "Once" is the database's doing: in every partition holding the meters' entries of the range, a copy of
   * a stored entry is refused (unique violation). Returns the partitions that accepted one (none).
   */
  const acceptingDuplicates = async (ids: readonly string[], after: number, upTo: number) => {
    const { rows } = await db.query<{ part: string; meter_id: string; captured_at: Date }>(
      `SELECT DISTINCT ON (tableoid) tableoid::regclass::text AS part, meter_id, captured_at
       FROM load_profile_entries WHERE meter_id = ANY($1::uuid[]) AND captured_at > $2 AND captured_at <= $3`,
      [ids, new Date(after), new Date(upTo)],
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const accepted: string[] = [];
    for (const r of rows) {
      const code = await db
        .query(
          `INSERT INTO load_profile_entries (meter_id, captured_at, profile, status, layout_id, raw)
           SELECT meter_id, captured_at, profile, status, layout_id, raw FROM load_profile_entries
           WHERE meter_id = $1 AND profile = 1 AND captured_at = $2`,
          [r.meter_id, r.captured_at],
        )
        .then(
          () => 'accepted',
          (err: { code?: string }) => err.code,
        );
      if (code !== '23505') accepted.push(`${r.part}: ${code}`);
    }
    return accepted;
  };

  /** Fixture: the meters' collection stood at `at` (the entries before it are not this test's concern). */
  const collectedUpTo = (ids: readonly string[], at: number) =>
    db.query(
      `INSERT INTO load_profile_state (meter_id, profile, capture_period_s, last_captured_at, last_collected_at)
       SELECT unnest($1::uuid[]), 1, $2, $3, $3
       ON CONFLICT (meter_id, profile) DO UPDATE SET last_captured_at = $3, last_collected_at = $3`,
      [ids, PERIOD_MS / 1000, new Date(at)],
    );

  /** Collections of `ids` as the schedule adds them (jobs of a few meters, so both workers get some). */
  const collect = (ids: readonly string[], tag: string) =>
    queue.addBulk(
      Array.from({ length: Math.ceil(ids.length / 4) }, (_, i) => ({
        name: PROFILE_JOBS.COLLECT,
        data: { meterIds: ids.slice(i * 4, i * 4 + 4), reason: 'scheduled' },
        opts: { jobId: `${tag}-${i}`, attempts: 4, backoff: { type: 'exponential', delay: 1000 } },
      })),
    );

  const lastCollectedAt = async (ids: readonly string[]) =>
    (
      await db.query<{ id: string; at: Date | null; last: Date | null }>(
        `SELECT m.id, s.last_collected_at AS at, s.last_captured_at AS last FROM meters m
         LEFT JOIN load_profile_state s ON s.meter_id = m.id AND s.profile = 1 WHERE m.id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows;

  /** Every meter's collection has reached `upTo` (its last stored entry) after `since`. */
  const caughtUp = (ids: readonly string[], since: number, upTo: number, timeoutMs = 30_000) =>
    waitFor(
      'every meter collected up to now',
      async () =>
        (await lastCollectedAt(ids)).every(
          (r) => r.at !== null && r.at.getTime() > since && r.last !== null && r.last.getTime() >= upTo,
        ),
      timeoutMs,
      250,
    );

  beforeAll(async () => {
    services = await startDedicatedServices();
    const env = pollingEnv('hes-prof-faults', {
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      METER_POLLING_INTERVAL: '3000',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
    });
    // A pool: it reconnects by itself after PostgreSQL's restart, like the apps' do.
    db = new Pool({ connectionString: services.databaseUrl, max: 2, connectionTimeoutMillis: 2000 });
    db.on('error', () => undefined);
    sim = await startSimulator({ meters: 2 * GROUP + 1, format: 'mixed', seed: 1212, prefix: 'LPF' });
    // Started together; whichever did start is stopped by afterAll when the other fails.
    const [a, w] = await Promise.allSettled([createTestApi(env), startWorkers(env, 2)]);
    if (a.status === 'fulfilled') api = a.value;
    if (w.status === 'fulfilled') workers = w.value;
    for (const r of [a, w]) if (r.status === 'rejected') throw r.reason;
    ({ token, idByNumber, meterIds } = await registerSimulatorMeters(api, 'LPF', sim));
    await configureOnlineAtGateway(api, token, meterIds, sim);
    queue = new Queue(QUEUES.PROFILE, bullRootOptions(services.redisUrl, env.QUEUE_PREFIX));
    pending = new PendingMeterRequests(Number(new URL(sim.gatewayUrl).port));
    polling = PollingPause.connect({ REDIS_URL: services.redisUrl, QUEUE_PREFIX: env.QUEUE_PREFIX });
  });

  afterAll(async () => {
    pending?.close();
    await polling?.resume().catch(() => undefined);
    await polling?.close();
    await queue?.close();
    await Promise.allSettled(workers.map((w) => w.stop('SIGTERM')));
    await api?.close();
    await sim?.stop();
    await db?.end().catch(() => undefined);
    await services?.stop();
  });

  it('a meter unreachable for two hours has every missing 15-minute interval back-filled, once, by the collection its return triggers', async () => {
    const id = meterIds[2 * GROUP];
    const n = numberOf(id);
    // Its first collection (one day back, as for any meter never collected).
    const [first] = await collect([id], 'first');
    await waitFor('the first collection', async () => (await first.getState()) === 'completed');
    expect((await stored(id, Date.now() - DAY_MS, Date.now())).length).toBeGreaterThanOrEqual(95);

    await sim.control.setFault(n, 'dead');
    await waitFor('the dead meter offline', async () => (await status(id)) === 'offline');
    // What two hours of this outage leave behind, without waiting them out: the last collection that
    // reached the meter stored up to the capture instant two hours back (`lastKept`) and moved the state
    // there; every collection since failed against a dead meter (connection refused) and stored nothing,
    // and the failing polls turned it offline (above, for real). So: no entry after `lastKept`, the state
    // at `lastKept`. Nothing else an outage leaves affects collection: the meter's memory is the
    // simulator's deterministic profile, which a `dead` meter (link lost, power on) keeps recording, so
    // the 8 intervals after `lastKept` are in it exactly as if two hours had passed.
    const lastKept = boundaryAt(Date.now()) - 2 * HOUR_MS;
    await db.query(
      `DELETE FROM load_profile_entries WHERE meter_id = $1 AND profile = 1 AND captured_at > $2`,
      [id, new Date(lastKept)],
    );
    await db.query(
      `UPDATE load_profile_state SET last_captured_at = $2, last_collected_at = $2 WHERE meter_id = $1`,
      [id, new Date(lastKept)],
    );
    expect(await stored(id, lastKept, Date.now())).toEqual([]);

    const backAt = Date.now();
    await sim.control.setFault(n, 'ok');
    await waitFor('the meter back online', async () => (await status(id)) === 'online', 20_000);
    // The collection its return queued (one job per meter and minute, not a scheduled one); when the poll
    // that brought it back still held the meter, the same collection again 1 s later (a busy retry).
    const collectionsSinceBack = async () =>
      (await queue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'])).filter(
        (j) =>
          j.name === PROFILE_JOBS.COLLECT &&
          j.timestamp >= backAt &&
          (j.data as { meterIds: string[] }).meterIds.includes(id),
      );
    const readIt = (j: Job) =>
      j.finishedOn !== undefined && !(j.returnvalue as { busy: string[] }).busy.includes(id);
    const backfill = await waitFor(
      'the back-fill collection done',
      async () => (await collectionsSinceBack()).find(readIt),
      15_000,
    );
    const since = await collectionsSinceBack();
    expect(since.filter(readIt)).toHaveLength(1);
    expect(since.every((j) => /^(backfill|busy-backfill)-/.test(j.id!))).toBe(true);

    // Every interval of the outage, once, as the meter holds them; no flag (the link was lost, not power).
    const outage = Array.from({ length: 8 }, (_, i) => lastKept + (i + 1) * PERIOD_MS);
    const rows = await stored(id, lastKept, outage[7]);
    expect(rows.map((r) => [r.t.getTime(), r.n, r.status])).toEqual(outage.map((t) => [t, 1, 0]));
    expect((await differences([id], lastKept - HOUR_MS, outage[7])).problems).toEqual([]);
    const result = backfill.returnvalue as CollectResult;
    // 8, or 9 when the clock passed the next capture instant meanwhile: that one was new too.
    const crossed = boundaryAt(backfill.processedOn!) - outage[7];
    expect(result.stored).toBe(8 + crossed / PERIOD_MS);

    const completeness = await request(api.server)
      .get(
        `/api/meters/${id}/load-profile/completeness?from=${new Date(lastKept - HOUR_MS).toISOString()}&to=${new Date(outage[7] + 1000).toISOString()}`,
      )
      .set('Authorization', `Bearer ${token}`);
    expect(completeness.status).toBe(200);
    expect(completeness.body.data).toMatchObject({ expected: 13, collected: 13, missing: 0 });

    // A second collection finds nothing new (but a capture instant the clock passed since).
    const [again] = await collect([id], 'again');
    await waitFor('the second collection', async () => (await again.getState()) === 'completed');
    const ran = (await Job.fromId(queue, again.id!))!;
    const second = ran.returnvalue as CollectResult;
    expect(second.stored).toBe(
      (boundaryAt(ran.processedOn!) - boundaryAt(backfill.processedOn!)) / PERIOD_MS,
    );
    expect(second.entries).toBe(second.stored);
    expect((await stored(id, lastKept, outage[7])).map((r) => r.n)).toEqual(outage.map(() => 1));
  });

  /**
   * Polling paused for the fault scenarios (it would compete for the meters): every meter request in
   * flight is then a profile read, so a fault injected while one is pending hits a collection.
   */
  const startCollectionOf = async (ids: readonly string[], tag: string) => {
    await polling.pause();
    await sim.control.setFaults('slow', ids.map(numberOf), { slowMs: SLOW_MS });
    const upTo = boundaryAt(Date.now());
    const from = upTo - BEHIND_MS;
    await collectedUpTo(ids, from);
    const startedAt = Date.now();
    const jobs = await collect(ids, tag);
    const readerPid = await pending.waitForProcessWithPending(
      workers.map((w) => w.child.pid!),
      1,
      10_000,
    );
    return { from, upTo, startedAt, jobs, readerPid };
  };

  /** Waits for the collections (and their retries) to finish; every job must have completed. */
  const finished = async (jobs: readonly Job[]) => {
    const done = await waitFor(
      'the collections done',
      async () => {
        const now = await Promise.all(jobs.map((j) => Job.fromId(queue, j.id!)));
        return now.every((j) => j?.finishedOn) && (now as Job[]);
      },
      45_000,
      250,
    );
    expect(await Promise.all(done.map((j) => j.getState()))).toEqual(done.map(() => 'completed'));
    return done;
  };

  const endFault = async (ids: readonly string[]) => {
    await sim.control.setFaults('ok', ids.map(numberOf));
    await polling.resume();
  };

  it('PostgreSQL restarted (fast shutdown) mid-collection: every interval stored once, no process died, collection resumed', async () => {
    const ids = meterIds.slice(0, GROUP);
    const { from, upTo, startedAt, jobs, readerPid } = await startCollectionOf(ids, 'pg-restart');
    const restartFrom = Date.now();
    await services.restartPostgres('fast');
    const restartedAt = Date.now();
    console.log(
      `PostgreSQL restarted (${restartedAt - restartFrom} ms) while worker pid ${readerPid} read profiles, ` +
        `${restartFrom - startedAt} ms after the collection started`,
    );
    const done = await finished(jobs);
    await caughtUp(ids, startedAt, upTo);
    // Collection resumed after the restart: the collections hit by it finished afterwards.
    expect(Math.max(...done.map((j) => j.finishedOn!))).toBeGreaterThan(restartedAt);
    const judged = await differences(ids, from, upTo);
    console.log(
      `after the restart: ${judged.intervals} intervals in the meters' memory; attempts per job ` +
        done.map((j) => j.attemptsMade).join(', '),
    );
    expect(judged.intervals).toBe(GROUP * (BEHIND_MS / PERIOD_MS));
    expect(judged.problems).toEqual([]);
    expect(await acceptingDuplicates(ids, from, upTo)).toEqual([]);
    expect(allAlive(processes()).problems).toEqual([]);
    // The api carried on too (in this process): it answers from the restarted database.
    await waitFor(
      'api ready',
      async () => (await request(api.server).get('/api/health/ready')).status === 200,
      10_000,
    );
    await endFault(ids);
  });

  it('a worker SIGKILLed mid-collection: the other worker takes its job over, every interval stored once, no other process died', async () => {
    const ids = meterIds.slice(GROUP, 2 * GROUP);
    const { from, upTo, startedAt, jobs, readerPid } = await startCollectionOf(ids, 'kill');
    const victim = workers.find((w) => w.child.pid === readerPid)!;
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    workers = workers.filter((w) => w !== victim);
    const done = await finished(jobs);
    await caughtUp(ids, startedAt, upTo);
    const takenOver = done.filter((j) => j.stalledCounter > 0);
    console.log(
      `SIGKILL of worker pid ${readerPid} ${killedAt - startedAt} ms into the collection; jobs taken over: ` +
        `${takenOver.length} of ${done.length}; all done ${Math.max(...done.map((j) => j.finishedOn!)) - killedAt} ms after the kill`,
    );
    // The job the dead worker held was found stalled and run again by the survivor.
    expect(takenOver.length).toBeGreaterThanOrEqual(1);
    const judged = await differences(ids, from, upTo);
    expect(judged.intervals).toBe(GROUP * (BEHIND_MS / PERIOD_MS));
    expect(judged.problems).toEqual([]);
    expect(await acceptingDuplicates(ids, from, upTo)).toEqual([]);
    expect(allAlive(processes()).problems).toEqual([]);
    await endFault(ids);

    // Collection goes on: the survivor runs a new collection of every meter.
    const resumedFrom = Date.now();
    const [next] = await collect(meterIds, 'after-kill');
    await waitFor('a collection after the kill', async () => (await next.getState()) === 'completed');
    const after = (await Job.fromId(queue, next.id!))!.returnvalue as CollectResult;
    expect(after.failed).toBe(0);
    expect((await lastCollectedAt(meterIds.slice(0, 4))).every((r) => r.at!.getTime() > resumedFrom)).toBe(
      true,
    );
  });
});
