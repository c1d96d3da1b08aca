/**
 * Chaos benchmark (issue 8): the fault suites' faults, one after the other, on a larger stack, with what
 * an operator would check after each. Loopback only, bounded in time (BENCH_MAX_SECONDS), stops by itself.
 *
 *   npm run bench:chaos
 *   BENCH_METERS=2000 BENCH_INTERVAL_MS=5000 BENCH_WORKERS=2 BENCH_FAULTS=worker-kill,store-failure npm run bench:chaos
 *
 * Stack: an in-process simulator (BENCH_SLOW of its meters answer after BENCH_SLOW_MS, so batches always
 * hold reads in flight; BENCH_DEAD are dead), an in-process api owning the schedules, BENCH_WORKERS worker
 * processes. Its own PostgreSQL database and Redis logical db, as a jest run gets; the PostgreSQL and Redis
 * faults run on dedicated servers that may be stopped (startDedicatedServices of libs/testing).
 *
 * Faults (BENCH_FAULTS, in order): worker-kill (SIGKILL to a worker holding meter reads, replaced after),
 * worker-term (SIGTERM to one, replaced after), store-failure (a trigger makes one store statement fail),
 * pg-restart (PostgreSQL fast shutdown and start), redis-flush (Redis restarted empty).
 * Each fault gets a counting window opened and closed with polling paused (nothing in flight), and
 * prints: when it was injected; recovery (first stored scheduled read started after the fault, and when
 * every answering meter had been read again); the simulator's answers vs stored reads (and how many the
 * killed worker took with it); duplicate scheduled records per tick; (meter, tick) pairs stored once;
 * processes alive; then PASS, or FAIL with what broke a guarantee: an answer not stored once, a tick
 * stored twice or not at all (except after a Redis flush, which loses the ticks until the schedules are
 * rebuilt), a process that died, a SIGTERMed worker that did not exit 0 within SHUTDOWN_GRACE_MS, or a
 * meter not read again within 2 intervals of the fault being over (after a Redis flush: max(2 intervals,
 * 10 s) for the schedules to come back, plus one interval for the meter's slot to tick).
 */
import {
  adminToken,
  buildOnce,
  createTestApi,
  startDedicatedServices,
  startProcess,
  type DedicatedServices,
  type StartedProcess,
  type TestApi,
} from '@app/testing';
import type { Job } from 'bullmq';
import { Pool } from 'pg';
import request from 'supertest';
import { startSimulator, type RunningSimulator } from '../apps/simulator/src';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import {
  allAlive,
  judgeWindow,
  killedWorkerReads,
  OnceStoreFailure,
  PendingMeterRequests,
  pollingResumed,
  PollingPause,
} from '../test/fault-assertions';
import { envNumber, insertGatewayMeters, runBench, sleep } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 2000, 10, 20_000));
const INTERVAL_MS = Math.floor(envNumber('BENCH_INTERVAL_MS', 5000, 1000, 60_000));
const TIMEOUT_MS = Math.floor(envNumber('BENCH_TIMEOUT_MS', 3000, 100, 60_000));
const WORKERS = Math.floor(envNumber('BENCH_WORKERS', 2, 2, 8));
const SLOW = envNumber('BENCH_SLOW', 0.1, 0, 1);
const SLOW_MS = Math.floor(envNumber('BENCH_SLOW_MS', 1000, 0, 60_000));
const DEAD = envNumber('BENCH_DEAD', 0.05, 0, 0.5);
/** Intervals each fault's window lasts after the fault. */
const SETTLE_INTERVALS = Math.floor(envNumber('BENCH_SETTLE_INTERVALS', 4, 2, 20));
const GRACE_MS = Math.floor(envNumber('BENCH_SHUTDOWN_GRACE_MS', 15_000, 1000, 120_000));
const MAX_SECONDS = Math.floor(envNumber('BENCH_MAX_SECONDS', 600, 60, 3600));
const FAULT_NAMES = ['worker-kill', 'worker-term', 'store-failure', 'pg-restart', 'redis-flush'] as const;
type FaultName = (typeof FAULT_NAMES)[number];
const FAULTS = (process.env.BENCH_FAULTS ?? FAULT_NAMES.join(','))
  .split(',')
  .map((f) => f.trim())
  .filter(Boolean) as FaultName[];
for (const f of FAULTS) if (!FAULT_NAMES.includes(f)) throw new Error(`BENCH_FAULTS: unknown fault ${f}`);

const clock = (d: Date | number) => new Date(d).toISOString().slice(11, 23);
const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

interface Injected {
  at: Date;
  detail: string;
  /** Poll jobs active right after a worker was SIGKILLed (its own among them). */
  activeAtKill?: Job[];
  /** The worker this fault took away (replaced once the window is judged). */
  gone?: StartedProcess;
  /** How long the dependency was away (recovery is judged from its return). */
  downMs: number;
  /** Every answering meter must have been read again within this, after the dependency is back. */
  recoveryBoundMs: number;
  /** What went wrong with the fault itself (e.g. a worker that did not exit 0). */
  failure?: string;
}

async function main(): Promise<void> {
  // Workers run from the build, as in production (see startProcess).
  buildOnce();
  await globalSetup();
  const processes: StartedProcess[] = [];
  let workers: StartedProcess[] = [];
  /** PostgreSQL and Redis servers of our own, that a fault may stop (the shared ones never are). */
  let dedicated: DedicatedServices | undefined;
  let api: TestApi | undefined;
  let sim: RunningSimulator | undefined;
  let pool: Pool | undefined;
  let pause: PollingPause | undefined;
  let pending: PendingMeterRequests | undefined;
  let storeFailure: OnceStoreFailure | undefined;
  const watchdog = setTimeout(() => {
    console.error(`\nBENCH_MAX_SECONDS (${MAX_SECONDS} s) reached: stopping everything`);
    for (const p of processes) p.child.kill('SIGKILL');
    // The dedicated servers are child processes too: never leave them behind.
    void Promise.race([dedicated?.stop(), sleep(10_000)]).finally(() => process.exit(2));
  }, MAX_SECONDS * 1000);
  watchdog.unref();

  try {
    const faults = [...FAULTS];
    if (faults.some((f) => f === 'pg-restart' || f === 'redis-flush')) {
      dedicated = await startDedicatedServices();
      process.env.DATABASE_URL = dedicated.databaseUrl;
      process.env.REDIS_URL = dedicated.redisUrl;
    }
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      QUEUE_PREFIX: 'hes-bench-chaos',
      METER_POLLING_INTERVAL: String(INTERVAL_MS),
      METER_TIMEOUT_MS: String(TIMEOUT_MS),
      METER_ALLOWED_NETWORKS: '127.0.0.0/8',
      METER_ALLOWED_PORTS: '1024-65535',
      METER_OFFLINE_AFTER_FAILURES: '1',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      // A dead worker's batches and meter locks are taken over within 1.5 × this: a fifth of the interval
      // here, as POLL_JOB_LOCK_MS's default (10 s) is for 60 s intervals.
      POLL_JOB_LOCK_MS: String(Math.max(1000, Math.round(INTERVAL_MS / 5))),
    };
    pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
    pool.on('error', () => undefined); // idle clients die with a PostgreSQL restart; the next query reconnects
    const db = pool;

    sim = await startSimulator({
      meters: METERS,
      format: 'mixed',
      seed: 9,
      prefix: 'CHS',
      faults: { slow: SLOW, dead: DEAD },
      slowMs: SLOW_MS,
    });
    pending = new PendingMeterRequests(Number(new URL(sim.gatewayUrl).port));
    api = await createTestApi(env);
    const token = await adminToken(api);
    const area = await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'Chaos bench', code: 'CHAOS' })
      .expect(201);
    const rows = await insertGatewayMeters(db, sim, area.body.data.id as string);
    const idByNumber = new Map(rows.map((r) => [r.meter_number, r.id]));
    const answering = sim.meters.filter((m) => m.fault !== 'dead').map((m) => idByNumber.get(m.meterNumber)!);
    storeFailure = new OnceStoreFailure(db);
    await storeFailure.install();
    pause = PollingPause.connect({ REDIS_URL: process.env.REDIS_URL, QUEUE_PREFIX: env.QUEUE_PREFIX });

    const startWorker = async () => {
      const w = await startProcess('worker', {
        env,
        readyPattern: /worker ready/,
        readyTimeoutMs: 120_000,
        fromBuild: true,
      });
      processes.push(w);
      return w;
    };
    workers = await Promise.all(Array.from({ length: WORKERS }, startWorker));
    const startedAt = new Date();
    const warm = await pollingResumed(db, {
      meterIds: answering,
      after: startedAt,
      intervalMs: INTERVAL_MS,
      intervals: 4,
      successfulOnly: true,
    });
    console.log(
      `${METERS} meters (${answering.length} answering, ${Math.round(SLOW * METERS)} slow by ${SLOW_MS} ms), ` +
        `${WORKERS} workers, every ${INTERVAL_MS} ms; every answering meter read after ${seconds(warm.allReadAfterMs)}`,
    );
    console.log(`faults: ${faults.join(', ')}\n`);

    const alive = () => Object.fromEntries(workers.map((w) => [`worker pid ${w.child.pid}`, w]));

    const victimWithReads = () => pending!.waitForWorkerWithPending(workers, 3 * INTERVAL_MS);

    const inject = async (fault: FaultName): Promise<Injected> => {
      switch (fault) {
        case 'worker-kill': {
          const victim = await victimWithReads();
          victim.child.kill('SIGKILL');
          const at = new Date();
          const activeAtKill = await pause!.pollQueue.getActive();
          return {
            at,
            detail: `pid ${victim.child.pid} SIGKILLed while ${activeAtKill.length} poll job(s) were active`,
            activeAtKill,
            gone: victim,
            downMs: 0,
            recoveryBoundMs: 2 * INTERVAL_MS,
          };
        }
        case 'worker-term': {
          const victim = await victimWithReads();
          const inFlight = pending!.byProcess([victim.child.pid!]).get(victim.child.pid!);
          const at = new Date();
          const code = await victim.stop('SIGTERM', GRACE_MS + 10_000);
          const tookMs = Date.now() - at.getTime();
          return {
            at,
            detail:
              `pid ${victim.child.pid} SIGTERMed with ${inFlight} reads in flight: exit ${code}` +
              `${victim.child.signalCode ? ` (${victim.child.signalCode})` : ''} after ${tookMs} ms`,
            gone: victim,
            downMs: 0,
            recoveryBoundMs: 2 * INTERVAL_MS,
            failure:
              code !== 0 || tookMs > GRACE_MS
                ? `SIGTERMed worker exited ${code ?? victim.child.signalCode} after ${tookMs} ms`
                : undefined,
          };
        }
        case 'store-failure': {
          await storeFailure!.arm();
          const armedAt = Date.now();
          while (!(await storeFailure!.fired()) && Date.now() - armedAt < 3 * INTERVAL_MS) await sleep(20);
          const fired = await storeFailure!.fired();
          return {
            at: new Date(),
            detail: `one store statement failed (${OnceStoreFailure.MESSAGE})`,
            downMs: 0,
            recoveryBoundMs: 2 * INTERVAL_MS,
            failure: fired ? undefined : 'the armed store failure never fired',
          };
        }
        case 'pg-restart': {
          const at = new Date();
          await dedicated!.restartPostgres('fast');
          const downMs = Date.now() - at.getTime();
          return {
            at,
            detail: `PostgreSQL restarted (fast), back after ${downMs} ms`,
            downMs,
            recoveryBoundMs: 2 * INTERVAL_MS,
          };
        }
        case 'redis-flush': {
          const at = new Date();
          await dedicated!.restartRedis({ flush: true });
          const downMs = Date.now() - at.getTime();
          // Guarantee 3: schedules come back within max(2 intervals, 10 s) after Redis lost its data.
          return {
            at,
            detail: `Redis restarted empty, back after ${downMs} ms`,
            downMs,
            recoveryBoundMs: Math.max(2 * INTERVAL_MS, 10_000) + INTERVAL_MS,
          };
        }
      }
    };

    const summary: string[] = [];
    for (const fault of faults) {
      const { since, resumedAt } = await pause.openWindow(sim.controlUrl);
      await sleep(INTERVAL_MS);

      const injected = await inject(fault);
      if (injected.gone) workers = workers.filter((w) => w !== injected.gone);
      const resumed = await pollingResumed(db, {
        meterIds: answering,
        after: injected.at,
        intervalMs: INTERVAL_MS,
        intervals: SETTLE_INTERVALS,
        successfulOnly: true,
        settleMs: 5000,
      });
      await sleep(Math.max(0, injected.at.getTime() + SETTLE_INTERVALS * INTERVAL_MS - Date.now()));

      const pausedAt = new Date();
      const stillActive = await pause.pause(2 * INTERVAL_MS + 5000);
      const killed = injected.activeAtKill
        ? await killedWorkerReads(pause.pollQueue, injected.activeAtKill)
        : undefined;
      const { answers, ticks, duplicates } = await judgeWindow({
        db,
        simulator: sim.controlUrl,
        meters: idByNumber,
        since,
        killedInFlight: killed,
        settleMs: 15_000,
        resumedAt,
        pausedAt,
        intervalMs: INTERVAL_MS,
        tickMeterIds: answering,
      });
      const dead = allAlive(alive()).problems;

      const recoveryMs = resumed.allReadAfterMs === null ? null : resumed.allReadAfterMs - injected.downMs;
      const failures = [
        ...(injected.failure ? [injected.failure] : []),
        ...(answers.problems.length ? [`${answers.problems.length} meters with answers ≠ stored`] : []),
        ...(duplicates.duplicates.length ? [`${duplicates.duplicates.length} ticks stored twice`] : []),
        ...(duplicates.withoutTick ? [`${duplicates.withoutTick} scheduled records without tick_at`] : []),
        // A Redis flush loses the ticks until the schedules are rebuilt: judged by its recovery bound instead.
        ...(fault !== 'redis-flush' && ticks.missing.length
          ? [`${ticks.missing.length} (meter, tick) pairs not stored`]
          : []),
        ...(recoveryMs === null || recoveryMs > injected.recoveryBoundMs
          ? [
              `every meter read again ${seconds(recoveryMs)} after the fault was over (bound ${seconds(injected.recoveryBoundMs)})`,
            ]
          : []),
        ...(dead.length ? ['a process died'] : []),
      ];
      const lines = [
        `fault ${fault}: ${injected.detail}; injected at ${clock(injected.at)} (window from ${clock(since)})`,
        `  recovery: first stored scheduled read started ${seconds(resumed.firstAnyAfterMs)} after the fault, ` +
          `every answering meter read again after ${seconds(resumed.allReadAfterMs)}`,
        `  answers ${answers.answered} vs stored ${answers.stored}` +
          (killed
            ? `, lost with the killed worker ${answers.lostToKill} (≤ the ${killed.meterIds.size} meters of its ` +
              `${killed.jobs.length} batches)`
            : '') +
          `; meters with other differences ${answers.problems.length}` +
          (answers.problems.length ? ` (e.g. ${answers.problems.slice(0, 3).join('; ')})` : ''),
        `  duplicate scheduled records per tick ${duplicates.duplicates.length}; scheduled records without ` +
          `tick_at ${duplicates.withoutTick}; (meter, tick) pairs stored once ${ticks.storedOnce} of ${ticks.expected}` +
          `; jobs still active at pause ${stillActive}`,
        `  processes alive: ${dead.length ? `NO: ${dead.map((d) => d.split(';')[0]).join(', ')}` : 'yes'}`,
        `  ${failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS'}`,
      ];
      console.log(lines.join('\n'));
      summary.push(
        `${fault.padEnd(13)} recovery ${seconds(resumed.allReadAfterMs).padStart(7)}  answers ${answers.answered} ` +
          `stored ${answers.stored} lost-to-kill ${answers.lostToKill} other-diff ${answers.problems.length}  ` +
          `dup ${duplicates.duplicates.length}  ticks ${ticks.storedOnce}/${ticks.expected}  ` +
          (failures.length ? 'FAIL' : 'PASS'),
      );

      if (injected.gone) workers.push(await startWorker());
      await pause.resume();
    }
    console.log(
      `\nsummary (${METERS} meters, ${INTERVAL_MS} ms, ${WORKERS} workers):\n${summary.join('\n')}`,
    );
  } finally {
    clearTimeout(watchdog);
    pending?.close();
    await pause?.resume().catch(() => undefined);
    await pause?.close().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
    await api?.close().catch(() => undefined);
    await storeFailure?.remove().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await dedicated?.stop().catch(() => undefined);
    await globalTeardown();
  }
}

runBench(main);
