/**
 * On-demand read latency while a fleet is polled (issue 4, test 5's figure; the timing that used to sit in
 * test/commands-load.e2e-spec.ts, which keeps the correctness checks). Real api (in-process), a worker
 * process, an in-process simulator and databases; its own PostgreSQL database and Redis logical db (as a
 * jest run gets). Loopback only, bounded in time.
 *
 *   npm run bench:commands
 *   BENCH_METERS=1000 BENCH_INTERVAL_MS=5000 BENCH_SAMPLES=50 BENCH_BLACKHOLE=0 npm run bench:commands
 *
 * Waits until one whole interval of the fleet has answered, then sends BENCH_SAMPLES read-obis one after
 * the other (300 ms apart) to answering meters and prints p50 / p95 / max, the scheduled reads the
 * simulator answered per second meanwhile (against the fleet's nominal rate, to show polling was at full
 * swing), and a PASS/FAIL line against the on-demand target (p95 < 500 ms; a failed read counts as
 * infinitely slow). BENCH_BLACKHOLE blackholes a share of the fleet (issue 8, guarantee 9: a dark area must
 * not slow the operators' reads). The simulator shares this process and the machine with everything else,
 * so the figures are indicative: run it a few times.
 */
import { Client } from 'pg';
import request from 'supertest';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import { startCommandStack, stackEnv, type CommandStack } from '../test/commands-fixtures';
import { envNumber, insertGatewayMeters, percentile, runBench, sleep } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 1000, 10, 20_000));
const INTERVAL_MS = Math.floor(envNumber('BENCH_INTERVAL_MS', 5000, 1000, 600_000));
const SAMPLES = Math.floor(envNumber('BENCH_SAMPLES', 50, 1, 1000));
const BLACKHOLE = envNumber('BENCH_BLACKHOLE', 0, 0, 0.9);
const TARGET_P95_MS = 500;
const PAUSE_MS = 300;

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'failed');

async function main(): Promise<void> {
  await globalSetup();
  process.env.NODE_ENV = 'test';
  let stack: CommandStack | undefined;
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  let missed = false;
  try {
    stack = await startCommandStack(
      { meters: METERS, seed: 5, faults: BLACKHOLE ? { blackhole: BLACKHOLE } : undefined },
      stackEnv({ METER_POLLING_INTERVAL: String(INTERVAL_MS), METER_TIMEOUT_MS: '3000' }),
    );
    const sim = stack.sim;
    // The fleet goes in with one statement (registration is not what this measures).
    const rows = await insertGatewayMeters(db, sim, stack.areaId);
    const answering = new Set(sim.meters.filter((m) => m.fault === 'ok').map((m) => m.meterNumber));
    const targets = rows.filter((r) => answering.has(r.meter_number)).map((r) => r.id);
    const answered = () => sim.control.counters().totals.answered;
    console.log(
      `${METERS} meters (${METERS - targets.length} blackholed) polled every ${INTERVAL_MS} ms; ` +
        'waiting for one whole interval of answers…',
    );
    const deadline = Date.now() + Math.max(60_000, 3 * INTERVAL_MS);
    while (answered() < targets.length && Date.now() < deadline) await sleep(250);
    if (answered() < targets.length) throw new Error(`polling did not get going: ${answered()} answers`);

    const polledBefore = answered();
    const windowStart = Date.now();
    const latencies: number[] = [];
    const failures: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const meterId = targets[(i * 137) % targets.length];
      const started = performance.now();
      const res = await request(stack.api.server)
        .post(`/api/meters/${meterId}/read-obis`)
        .set('Authorization', `Bearer ${stack.tokens.operator}`)
        .send({});
      const took = performance.now() - started;
      latencies.push(res.status === 200 ? took : Infinity);
      if (res.status !== 200) failures.push(`${res.status} after ${took.toFixed(0)} ms`);
      await sleep(PAUSE_MS);
    }
    const seconds = (Date.now() - windowStart) / 1000;
    const polledPerSecond = (answered() - polledBefore - (SAMPLES - failures.length)) / seconds;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p95 = percentile(sorted, 0.95);
    console.log(
      `on-demand read-obis under polling load: n=${SAMPLES} p50 ${ms(percentile(sorted, 0.5))} p95 ${ms(p95)} ` +
        `max ${ms(sorted[sorted.length - 1])}` +
        (failures.length ? `; ${failures.length} failed: ${failures.join(', ')}` : ''),
    );
    console.log(
      `scheduled reads answered meanwhile: ${polledPerSecond.toFixed(0)}/s ` +
        `(the answering fleet's nominal rate ${((targets.length * 1000) / INTERVAL_MS).toFixed(0)}/s)`,
    );
    missed = !(p95 < TARGET_P95_MS);
    console.log(
      `${missed ? 'FAIL' : 'PASS'} on-demand read-obis p95 ${ms(p95)} (target < ${TARGET_P95_MS} ms)`,
    );
  } finally {
    await stack?.stop();
    await db.end();
    await globalTeardown();
  }
  process.exitCode = missed ? 2 : 0;
}

runBench(main);
