/**
 * The api behind the console with a large registry (issue 11): autocannon, 10 concurrent clients, against
 * the api alone (a child process, no worker, no simulator) with BENCH_METERS registered meters (100,000 by
 * default, inserted in one statement). Its own PostgreSQL database and Redis logical db (as a jest run
 * gets). Loopback only, bounded in time: each case runs BENCH_DURATION_S seconds after a short warm-up.
 *
 *   npm run bench:api
 *   BENCH_METERS=20000 BENCH_DURATION_S=5 npm run bench:api
 *   BENCH_ONLY='page|cursor' npm run bench:api
 *
 * Prints p50 / p95 / req/s per case, and PASS/FAIL against the targets (lists, filters, search and deep
 * pages p95 < 100 ms; polling status p95 < 50 ms). Any non-2xx answer fails the run. The machine is
 * shared with whatever else runs on it: the figures are indicative, run it a few times.
 */
import autocannon from 'autocannon';
import { cpus, loadavg } from 'node:os';
import { Client } from 'pg';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import {
  freeLoopbackPort,
  startProcess,
  TEST_API_ENV_DEFAULTS,
  type StartedProcess,
} from '../libs/testing/src';
import { envNumber, percentile, runBench } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 100_000, 1_000, 1_000_000));
const DURATION_S = Math.floor(envNumber('BENCH_DURATION_S', 10, 1, 120));
const CONNECTIONS = Math.floor(envNumber('BENCH_CONNECTIONS', 10, 1, 100));
const WARMUP_S = 2;
const AREAS = 20;
const BRANDS = ['hexing', 'landis', 'itron', 'kamstrup', 'iskra'];

interface BenchCase {
  name: string;
  path: string;
  /** null: no target (the floor: what any request costs on this machine right now). */
  targetP95Ms: number | null;
}

/** The deepest page of 100 the registry has, capped at the page 900. */
const DEEP_PAGE = Math.min(900, Math.ceil(METERS / 100));

/** BENCH_ONLY: a regular expression; only the cases whose name matches run. */
const ONLY = new RegExp(process.env.BENCH_ONLY ?? '');

const ALL_CASES: BenchCase[] = [
  { name: 'floor: health/live', path: '/api/health/live', targetP95Ms: null },
  { name: 'list page 1 (limit 100)', path: '/api/meters?page=1&limit=100', targetP95Ms: 100 },
  {
    name: `list page ${DEEP_PAGE} (limit 100)`,
    path: `/api/meters?page=${DEEP_PAGE}&limit=100`,
    targetP95Ms: 100,
  },
  {
    name: `cursor after page ${DEEP_PAGE - 1}`,
    path: `/api/meters?limit=100&cursor=PERF-${pad((DEEP_PAGE - 1) * 100 - 1)}`,
    targetP95Ms: 100,
  },
  { name: 'search=PERF-0999', path: '/api/meters?search=PERF-0999', targetP95Ms: 100 },
  { name: 'status+brand filter', path: '/api/meters?status=online&brand=itron', targetP95Ms: 100 },
  { name: 'one meter', path: `/api/meters/PERF-${pad(Math.floor(METERS / 2))}`, targetP95Ms: 100 },
  { name: 'polling status', path: '/api/meters/polling/status', targetP95Ms: 50 },
];
const CASES = ALL_CASES.filter((c) => ONLY.test(c.name));

function pad(n: number): string {
  return String(n).padStart(5, '0');
}

/** AREAS areas and METERS meters PERF-00000…, brands round-robin, 90 % online / 8 % offline / 2 % faulty. */
async function seed(db: Client): Promise<void> {
  await db.query(
    `insert into areas (name, code) select 'Perf area ' || i, 'PERF-A' || i from generate_series(1, $1) as i`,
    [AREAS],
  );
  await db.query(
    `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
     select 'PERF-' || lpad(i::text, 5, '0'), 'three-phase', ($2::text[])[1 + i % cardinality($2::text[])],
            'MDL-' || (i % 37), a.id, '127.0.0.1', 8080,
            (case when i % 50 = 0 then 'faulty' when i % 12 = 0 then 'offline' else 'online' end)::meter_status
     from generate_series(0, $1 - 1) as i
     join (select id, row_number() over (order by code) - 1 as n from areas where code like 'PERF-A%') a
       on a.n = i % ${AREAS}`,
    [METERS, BRANDS],
  );
  // As autovacuum leaves a registry that is not being rewritten: statistics and the visibility map set.
  await db.query('vacuum analyze meters');
}

async function login(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: TEST_API_ENV_DEFAULTS.ADMIN_USERNAME,
      password: TEST_API_ENV_DEFAULTS.ADMIN_PASSWORD,
    }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { data: { token: string } };
  return body.data.token;
}

interface CaseResult {
  result: autocannon.Result;
  /** Every response time (ms), ascending: autocannon's summary has p97.5 but no p95. */
  latencies: number[];
}

function run(url: string, token: string, duration: number): Promise<CaseResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: CONNECTIONS, duration, headers: { authorization: `Bearer ${token}` } },
      (err: unknown, result: autocannon.Result) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve({ result, latencies: latencies.sort((a, b) => a - b) });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  });
}

async function main(): Promise<void> {
  await globalSetup();
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  let api: StartedProcess | undefined;
  let failed = false;
  try {
    const started = Date.now();
    await seed(db);
    console.log(
      `${METERS} meters in ${AREAS} areas registered in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const port = await freeLoopbackPort();
    api = await startProcess('api', {
      env: { ...TEST_API_ENV_DEFAULTS, PORT: String(port) },
      readyPattern: /api listening on port/,
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const token = await login(baseUrl);
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${cpus().length} cores)`,
    );
    console.log(
      `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per case after ${WARMUP_S} s warm-up\n`,
    );
    console.log('case                          p50 ms  p95 ms  p99 ms    req/s  non-2xx  target');
    for (const c of CASES) {
      await run(`${baseUrl}${c.path}`, token, WARMUP_S);
      const { result: r, latencies } = await run(`${baseUrl}${c.path}`, token, DURATION_S);
      const [p50, p95, p99] = [0.5, 0.95, 0.99].map((p) => percentile(latencies, p));
      const bad = r.non2xx + r.errors + r.timeouts;
      const pass = bad === 0 && (c.targetP95Ms === null || p95 < c.targetP95Ms);
      if (!pass) failed = true;
      const target = c.targetP95Ms === null ? '' : `p95 < ${c.targetP95Ms} ms ${pass ? 'PASS' : 'FAIL'}`;
      console.log(
        `${c.name.padEnd(28)} ${p50.toFixed(0).padStart(7)} ${p95.toFixed(0).padStart(7)} ` +
          `${p99.toFixed(0).padStart(7)} ${r.requests.average.toFixed(0).padStart(8)} ` +
          `${String(bad).padStart(8)}  ${target}`,
      );
    }
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await api?.stop();
    await db.end();
    await globalTeardown();
  }
  if (failed) process.exitCode = 1;
}

runBench(main);
