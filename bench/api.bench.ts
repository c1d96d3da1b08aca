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
 *
 * Latency on a shared machine mostly measures the neighbours, so two costs that they hardly move are
 * printed too: the api process's CPU time per request (its utime + stime from /proc over the measured
 * run, divided by the requests served), and, before the load, what PostgreSQL spends on each statement the
 * route runs: the api records the SQL of one request (bench/sql-capture.js, preloaded) and each statement
 * is run again under EXPLAIN (ANALYZE, BUFFERS) (median of 3 executions; planning and execution time,
 * shared buffers hit / read, rows). BENCH_EXPLAIN=0 skips that part.
 */
import autocannon from 'autocannon';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import {
  buildOnce,
  freeLoopbackPort,
  startProcess,
  TEST_API_ENV_DEFAULTS,
  type StartedProcess,
} from '../libs/testing/src';
import { envNumber, percentile, runBench, sleep } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 100_000, 1_000, 1_000_000));
const DURATION_S = Math.floor(envNumber('BENCH_DURATION_S', 10, 1, 120));
const CONNECTIONS = Math.floor(envNumber('BENCH_CONNECTIONS', 10, 1, 100));
const WARMUP_S = 2;
const EXPLAIN = process.env.BENCH_EXPLAIN !== '0';
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;
const AREAS = 20;
const BRANDS = ['hexing', 'landis', 'itron', 'kamstrup', 'iskra'];

interface BenchCase {
  name: string;
  path: string;
  /** null: no target (the floor: what any request costs on this machine right now). */
  targetP95Ms: number | null;
}

/** The deepest page of 100 the registry has, capped at the issue's page 900. */
const DEEP_PAGE = Math.min(900, Math.ceil(METERS / 100));

/** BENCH_ONLY: a regular expression; only the cases whose name matches run. */
const ONLY = new RegExp(process.env.BENCH_ONLY ?? '');

const ALL_CASES: BenchCase[] = [
  { name: 'floor: health/live', path: '/api/health/live', targetP95Ms: null },
  { name: 'list page 1 (limit 100)', path: '/api/meters?page=1&limit=100', targetP95Ms: 100 },
  // A deep page by offset walks every row before it (~20 ms of PostgreSQL at page 900 even as an
  // index-only scan): shown for comparison, the target applies to the keyset page below, which is how the
  // console and the documented clients page (pagination.nextCursor).
  {
    name: `page ${DEEP_PAGE} by offset (info)`,
    path: `/api/meters?page=${DEEP_PAGE}&limit=100`,
    targetP95Ms: null,
  },
  {
    name: `page ${DEEP_PAGE} by cursor`,
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
  // A VACUUM right after the insert may find the rows not yet visible to every snapshot and leave the
  // pages unmarked (then every index-only walk visits the heap): repeat until they are marked.
  for (let i = 0; i < 5; i++) {
    await db.query('vacuum analyze meters');
    const { rows } = await db.query<{ all: boolean }>(
      `select relallvisible >= relpages as all from pg_class where relname = 'meters'`,
    );
    if (rows[0]?.all) return;
    await sleep(500);
  }
  console.log('note: the meters table is not all-visible after 5 VACUUMs (index-only walks visit the heap)');
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

/** CPU time (user + system, ms) the process has used so far, from /proc/<pid>/stat. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

interface CapturedStatement {
  text: string;
  values: unknown[];
}

/** The SQL statements the api ran for one request to `url` (sql-capture.js toggled on and off around it). */
async function captureRequestSql(
  api: StartedProcess,
  captureFile: string,
  url: string,
  token: string,
): Promise<CapturedStatement[]> {
  rmSync(captureFile, { force: true });
  const toggle = async (state: 'on' | 'off') => {
    const seen = api.output().split(`sql-capture ${state}`).length;
    api.child.kill('SIGUSR2');
    const deadline = Date.now() + 5_000;
    while (api.output().split(`sql-capture ${state}`).length === seen) {
      if (Date.now() > deadline) throw new Error(`the api did not turn sql capture ${state}`);
      await sleep(10);
    }
  };
  await toggle('on');
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  await toggle('off');
  let text = '';
  try {
    text = readFileSync(captureFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CapturedStatement);
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
}
interface ExplainJson {
  Plan: PlanNode;
  'Planning Time': number;
  'Execution Time'?: number;
}

interface StatementCost {
  sql: string;
  planningMs: number;
  /** null: a plan-only statement (EXPLAIN without ANALYZE), nothing executed. */
  executionMs: number | null;
  sharedHit: number;
  sharedRead: number;
  rows: number | null;
  node: string;
}

/**
 * PostgreSQL's own cost of a captured statement: EXPLAIN (ANALYZE, BUFFERS) three times (in a transaction
 * rolled back, in case it writes), the median by execution time. A statement that is itself a plan-only
 * EXPLAIN (the list's total estimate) is planned again with its planning time.
 */
async function explainStatement(db: Client, st: CapturedStatement): Promise<StatementCost | null> {
  const text = st.text.trim();
  if (!/^(select|with|insert|update|delete|explain)\b/i.test(text)) return null;
  const planOnly = /^explain\s*\(format json\)/i.exec(text);
  const explain = planOnly
    ? `explain (summary, buffers, format json) ${text.slice(planOnly[0].length)}`
    : `explain (analyze, buffers, format json) ${text}`;
  const runs: StatementCost[] = [];
  for (let i = 0; i < 3; i++) {
    await db.query('begin');
    try {
      const { rows } = await db.query<{ 'QUERY PLAN': ExplainJson[] }>(explain, st.values);
      const [plan] = rows[0]['QUERY PLAN'];
      runs.push({
        sql: text.replace(/\s+/g, ' '),
        planningMs: plan['Planning Time'],
        executionMs: planOnly ? null : (plan['Execution Time'] ?? null),
        sharedHit: plan.Plan['Shared Hit Blocks'] ?? 0,
        sharedRead: plan.Plan['Shared Read Blocks'] ?? 0,
        rows: planOnly ? null : (plan.Plan['Actual Rows'] ?? null),
        node: plan.Plan['Node Type'],
      });
    } finally {
      await db.query('rollback');
    }
  }
  runs.sort((a, b) => (a.executionMs ?? a.planningMs) - (b.executionMs ?? b.planningMs));
  return runs[1];
}

function printStatementCosts(name: string, costs: StatementCost[]): void {
  const total = costs.reduce((sum, c) => sum + c.planningMs + (c.executionMs ?? 0), 0);
  const blocks = costs.reduce((sum, c) => sum + c.sharedHit + c.sharedRead, 0);
  console.log(
    `${name}: ${costs.length} statement(s), ${total.toFixed(2)} ms in PostgreSQL (planning + execution), ${blocks} shared buffers`,
  );
  for (const c of costs) {
    const exec = c.executionMs === null ? 'plan only' : `exec ${c.executionMs.toFixed(2)} ms`;
    const rows = c.rows === null ? '' : `, ${c.rows} rows`;
    console.log(
      `  plan ${c.planningMs.toFixed(2)} ms, ${exec}, buffers hit ${c.sharedHit} read ${c.sharedRead}${rows} ` +
        `(${c.node}): ${c.sql.length > 110 ? `${c.sql.slice(0, 107)}...` : c.sql}`,
    );
  }
}

async function main(): Promise<void> {
  buildOnce();
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
    const captureFile = path.join(tmpdir(), `hes-api-bench-sql-${process.pid}.jsonl`);
    // The child's node flags come from HES_CHILD_NODE_ARGS (startProcess); the SQL recorder is added to them.
    const childNodeArgs = process.env.HES_CHILD_NODE_ARGS ?? '';
    process.env.HES_CHILD_NODE_ARGS = `${childNodeArgs} -r ${path.join(__dirname, 'sql-capture.js')}`;
    api = await startProcess('api', {
      // The build, as production runs it (ts-node adds its own cost to every request's stack).
      fromBuild: true,
      env: { ...TEST_API_ENV_DEFAULTS, PORT: String(port), BENCH_SQL_CAPTURE: captureFile },
      readyPattern: /api listening on port/,
    });
    process.env.HES_CHILD_NODE_ARGS = childNodeArgs;
    const apiPid = api.child.pid!;
    const baseUrl = `http://127.0.0.1:${port}`;
    const token = await login(baseUrl);
    if (EXPLAIN) {
      console.log('\nPostgreSQL per request (EXPLAIN (ANALYZE, BUFFERS) of the statements one request ran):');
      for (const c of CASES) {
        const statements = await captureRequestSql(api, captureFile, `${baseUrl}${c.path}`, token);
        const costs: StatementCost[] = [];
        for (const st of statements) {
          const cost = await explainStatement(db, st);
          if (cost) costs.push(cost);
        }
        printStatementCosts(c.name, costs);
      }
      rmSync(captureFile, { force: true });
      console.log('');
    }
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${cpus().length} cores)`,
    );
    console.log(
      `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per case after ${WARMUP_S} s warm-up\n`,
    );
    console.log(
      'case                          p50 ms  p95 ms  p99 ms    req/s  non-2xx  api CPU ms/req  api CPU %  target',
    );
    for (const c of CASES) {
      await run(`${baseUrl}${c.path}`, token, WARMUP_S);
      const cpuBefore = processCpuMs(apiPid);
      const { result: r, latencies } = await run(`${baseUrl}${c.path}`, token, DURATION_S);
      const cpuMs = processCpuMs(apiPid) - cpuBefore;
      const served = r.requests.total;
      const [p50, p95, p99] = [0.5, 0.95, 0.99].map((p) => percentile(latencies, p));
      const bad = r.non2xx + r.errors + r.timeouts;
      const pass = bad === 0 && (c.targetP95Ms === null || p95 < c.targetP95Ms);
      if (!pass) failed = true;
      const target = c.targetP95Ms === null ? '' : `p95 < ${c.targetP95Ms} ms ${pass ? 'PASS' : 'FAIL'}`;
      console.log(
        `${c.name.padEnd(28)} ${p50.toFixed(0).padStart(7)} ${p95.toFixed(0).padStart(7)} ` +
          `${p99.toFixed(0).padStart(7)} ${r.requests.average.toFixed(0).padStart(8)} ` +
          `${String(bad).padStart(8)} ${(served ? cpuMs / served : NaN).toFixed(2).padStart(15)} ` +
          `${((cpuMs / (r.duration * 1000)) * 100).toFixed(0).padStart(10)}  ${target}`,
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
