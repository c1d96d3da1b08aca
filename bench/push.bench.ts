/**
 * Meter push throughput (issue 13): signed pushed reads per second STORED, with CPU per process. A real api
 * (child process, push listener on a free port), a real worker (child process) storing through the batched
 * ReadStore, the benchmark's own PostgreSQL database and Redis logical db (as a jest run gets). Loopback only,
 * bounded in time.
 *
 *   npm run bench:push
 *   BENCH_METERS=10000 BENCH_SECONDS=20 BENCH_CONNECTIONS=64 npm run bench:push
 *
 * BENCH_METERS meters get a push secret (inserted directly, encrypted with the api's key: registration is
 * not what this measures); autocannon pushes `{ meterNumber, timestamp, readings: [6 values] }` round-robin
 * over them for BENCH_SECONDS over BENCH_CONNECTIONS connections, each request signed (HMAC over t + body)
 * in this process. Every meter stays under the default per-meter rate limit (120/min) at 5,000/s with
 * 10,000 meters. Printed: requests answered 202 / other, latency p50/p99, accepted/s, stored/s (accepted
 * reads divided by the time until the last one was stored), CPU cores per process (api, worker, PostgreSQL
 * backends, Redis, this load generator) and a PASS/FAIL line against ≥ 5,000 stored/s. The machine may be
 * shared: figures are indicative.
 */
import { startProcess, StartedProcess, TEST_API_ENV_DEFAULTS } from '@app/testing';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { PushSecretCipher } from '../apps/api/src/push/push-secret.cipher';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import { freePort } from '../test/push-helpers';
import { envNumber, percentile, runBench, sleep } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 10_000, 10, 200_000));
const SECONDS = Math.floor(envNumber('BENCH_SECONDS', 10, 3, 120));
const RUNS = Math.floor(envNumber('BENCH_RUNS', 3, 1, 9));
/** Requests prepared per run: enough for 15,000 pushes/s (an unsigned surplus would be replays). */
const PER_RUN = SECONDS * 15_000;
// A fleet pushes over many connections at once (each meter its own): with 64, each waiting ~40 ms for its
// job (the 20 ms collect window, then Redis), the bench measured its own concurrency (64 / 40 ms ≈ 1,600/s)
// rather than the system's capacity.
const CONNECTIONS = Math.floor(envNumber('BENCH_CONNECTIONS', 256, 1, 2000));
const TARGET_STORED_PER_S = 5000;
const DRAIN_TIMEOUT_MS = 120_000;

interface RunResult {
  requests: number;
  accepted: number;
  other: number;
  acceptedPerS: number;
  stored: number;
  storedPerS: number;
  drainS: number;
  p50: number;
  p95: number;
  /** CPU seconds per 1,000 stored pushes, and average cores, per process. */
  cpuPer1000: Record<'api' | 'worker' | 'postgres' | 'redis' | 'loadGenerator', number>;
  cores: Record<'api' | 'worker' | 'postgres' | 'redis' | 'loadGenerator', number>;
}

function describeRun(r: RunResult): string {
  const cpu = Object.entries(r.cpuPer1000)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(', ');
  return (
    `  ${r.requests} requests (2xx ${r.accepted}, other ${r.other}); accepted ${r.acceptedPerS.toFixed(0)}/s, ` +
    `stored ${r.stored} = ${r.storedPerS.toFixed(0)}/s (drain ${r.drainS.toFixed(1)} s); ` +
    `p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms; CPU s per 1,000: ${cpu}`
  );
}

function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  await globalSetup();
  const prefix = `bpush-${randomBytes(3).toString('hex')}`;
  const key = randomBytes(32).toString('hex');
  const port = await freePort();
  const env: Record<string, string> = {
    ...TEST_API_ENV_DEFAULTS,
    NODE_ENV: 'test',
    QUEUE_PREFIX: prefix,
    PUSH_PORT: String(port),
    PUSH_SECRET_KEY: key,
    DATABASE_POOL_SIZE: '20',
    SWAGGER_ENABLED: 'false',
  };
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const processes: StartedProcess[] = [];
  try {
    const area = await db.query<{ id: string }>(
      `insert into areas (name, code) values ('bench push', $1) returning id`,
      [prefix],
    );
    const numbers = Array.from({ length: METERS }, (_, i) => `BP-${String(i).padStart(6, '0')}`);
    // No address: the meters are never polled, every read here is pushed.
    const meters = await db.query<{ id: string; meter_number: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, status)
       select n, 'three-phase', 'bench', 'B', $2, 'online' from unnest($1::text[]) n returning id, meter_number`,
      [numbers, area.rows[0].id],
    );
    const cipher = new PushSecretCipher({ PUSH_SECRET_KEY: key } as never);
    const secrets = numbers.map(() => randomBytes(32).toString('hex'));
    const idByNumber = new Map(meters.rows.map((r) => [r.meter_number, r.id]));
    await db.query(
      `insert into meter_push_secrets (meter_id, secret) select * from unnest($1::uuid[], $2::text[])`,
      [numbers.map((n) => idByNumber.get(n)), secrets.map((s) => cipher.encrypt(s))],
    );

    console.log(`starting api (push port ${port}) and worker…`);
    const [api, worker] = await Promise.all([
      startProcess('api', { env, readyPattern: /push listener on port/, readyTimeoutMs: 180_000 }),
      startProcess('worker', { env, readyPattern: /worker ready/, readyTimeoutMs: 180_000 }),
    ]);
    processes.push(api, worker);

    const pushedCount = async () =>
      (
        await db.query<{ n: number }>(
          `select count(*)::int as n from meter_reads where reading_type = 'push' and meter_id = any($1::uuid[])`,
          [meters.rows.map((r) => r.id)],
        )
      ).rows[0].n;
    const pgPids = async () =>
      (
        await db.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        )
      ).rows.map((r) => r.pid);
    const redis = new Redis(process.env.REDIS_URL!);
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
    redis.disconnect();

    const cipherCheck = cipher.decrypt(cipher.encrypt('x'));
    if (cipherCheck !== 'x') throw new Error('push secret cipher does not round-trip');

    // Request `i` of run `r`: meter i mod METERS, a timestamp unique per meter across runs (a read is
    // unique per meter and instant), signed now. All of it before the timed phase: the load generator
    // must not spend the CPU being measured on JSON and HMACs.
    const baseMs = Date.now() - 3 * 3600_000;
    const prepare = (run: number): { body: string; headers: Record<string, string> }[] => {
      const t = Math.floor(Date.now() / 1000);
      return Array.from({ length: PER_RUN }, (_, i) => {
        const n = i % METERS;
        const round = run * Math.ceil(PER_RUN / METERS) + Math.floor(i / METERS);
        const text = JSON.stringify({
          meterNumber: numbers[n],
          timestamp: new Date(baseMs + round * 1000 + (n % 1000)).toISOString(),
          readings: [
            { obisCode: '1-0:15.8.0.255', value: 1_000_000 + i, unit: 'Wh', scaler: 0 },
            { obisCode: '1-0:32.7.0.255', value: 2301, unit: 'V', scaler: -1 },
            { obisCode: '1-0:31.7.0.255', value: 512, unit: 'A', scaler: -2 },
            { obisCode: '1-0:1.7.0.255', value: 1180, unit: 'W', scaler: 0 },
            { obisCode: '1-0:14.7.0.255', value: 5001, unit: 'Hz', scaler: -2 },
            { obisCode: '1-0:13.7.0.255', value: 950, unit: '', scaler: -3 },
          ],
        });
        const v1 = createHmac('sha256', secrets[n]).update(`${t}.${text}`).digest('hex');
        return {
          body: text,
          headers: { 'content-type': 'application/json', 'x-meter-signature': `t=${t},v1=${v1}` },
        };
      });
    };

    const results: RunResult[] = [];
    for (let run = 0; run < RUNS; run++) {
      const prepared = prepare(run);
      const warm = await pushedCount();
      const pids = await pgPids();
      const cpuBefore = {
        api: cpuSeconds(api.child.pid!),
        worker: cpuSeconds(worker.child.pid!),
        postgres: pids.reduce((s, p) => s + cpuSeconds(p), 0),
        redis: cpuSeconds(redisPid),
      };
      const ownBefore = process.cpuUsage();
      const latencies: number[] = [];
      let next = 0;
      const started = Date.now();
      console.log(`run ${run + 1}/${RUNS}: pushing for ${SECONDS} s over ${CONNECTIONS} connections…`);
      const result = await new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon(
          {
            url: `http://127.0.0.1:${port}`,
            connections: CONNECTIONS,
            duration: SECONDS,
            requests: [
              {
                method: 'POST',
                path: '/push/readings',
                // Past the prepared requests one would be a replay (401): they are sized to outlast a run.
                setupRequest: (req) => ({ ...req, ...prepared[next++ % prepared.length] }),
              },
            ],
          },
          (err, res) => (err ? reject(err) : resolve(res)),
        );
        instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
      });
      const loadEnded = Date.now();
      const own = process.cpuUsage(ownBefore);
      const accepted = result['2xx'];
      let stored = (await pushedCount()) - warm;
      const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (stored < accepted && Date.now() < drainDeadline) {
        await sleep(100);
        stored = (await pushedCount()) - warm;
      }
      const storedAt = Date.now();
      const pgAll = [...new Set([...pids, ...(await pgPids())])];
      const cpu = {
        api: cpuSeconds(api.child.pid!) - cpuBefore.api,
        worker: cpuSeconds(worker.child.pid!) - cpuBefore.worker,
        postgres: pgAll.reduce((s, p) => s + cpuSeconds(p), 0) - cpuBefore.postgres,
        redis: cpuSeconds(redisPid) - cpuBefore.redis,
        loadGenerator: (own.user + own.system) / 1e6,
      };
      latencies.sort((a, b) => a - b);
      const r: RunResult = {
        requests: result.requests.total,
        accepted,
        other: result.non2xx + result.errors + result.timeouts,
        acceptedPerS: accepted / ((loadEnded - started) / 1000),
        stored,
        storedPerS: stored / ((storedAt - started) / 1000),
        drainS: (storedAt - loadEnded) / 1000,
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
        cpuPer1000: Object.fromEntries(
          Object.entries(cpu).map(([k, v]) => [k, (v / Math.max(1, stored)) * 1000]),
        ) as RunResult['cpuPer1000'],
        cores: Object.fromEntries(
          Object.entries(cpu).map(([k, v]) => [k, v / ((storedAt - started) / 1000)]),
        ) as RunResult['cores'],
      };
      results.push(r);
      console.log(describeRun(r));
      if (stored < accepted)
        console.log(`  ${accepted - stored} accepted reads NOT stored within the drain timeout`);
    }

    const median = (f: (r: RunResult) => number) => {
      const sorted = results.map(f).sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    };
    const perProcess = (k: keyof RunResult['cpuPer1000']) =>
      `${k} ${median((r) => r.cpuPer1000[k]).toFixed(3)} s (${median((r) => r.cores[k]).toFixed(2)} cores)`;
    const storedPerS = median((r) => r.storedPerS);
    console.log(
      `median of ${RUNS} runs of ${SECONDS} s (the machine may be shared: figures are indicative):`,
    );
    console.log(
      `  accepted ${median((r) => r.acceptedPerS).toFixed(0)}/s, stored ${storedPerS.toFixed(0)}/s, ` +
        `latency p50 ${median((r) => r.p50).toFixed(1)} ms, p95 ${median((r) => r.p95).toFixed(1)} ms`,
    );
    console.log(
      `  CPU per 1,000 stored pushes: ${(['api', 'worker', 'postgres', 'redis', 'loadGenerator'] as const).map(perProcess).join(', ')}`,
    );
    const allStored = results.every((r) => r.stored >= r.accepted);
    const pass = storedPerS >= TARGET_STORED_PER_S && allStored;
    console.log(
      `${pass ? 'PASS' : 'FAIL'} stored ${storedPerS.toFixed(0)}/s (target ≥ ${TARGET_STORED_PER_S}/s, all accepted stored: ${allStored})`,
    );
    if (!pass) process.exitCode = 2;
  } finally {
    await Promise.all(processes.map((p) => p.stop().catch(() => null)));
    await db.end();
    await globalTeardown();
  }
}

runBench(main);
