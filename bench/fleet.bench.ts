/**
 * Fleet-scale polling benchmark. Targets (issue 4, kept by issue 8): 100,000 meters every 60 s on this
 * 2-core machine with 20 % of them dead, ≥ 99.5 % of the answering meters read in every interval, one
 * worker ≤ 0.6 core, on-demand read-obis p95 < 500 ms while polling. Issue 8, guarantee 9 adds the dark
 * area: the same targets with a share of the fleet blackholed (connection accepted, never answered).
 * Loopback only, bounded in time, its own PostgreSQL database and Redis logical db (as a jest run gets).
 *
 *   npm run bench:fleet
 *   BENCH_BLACKHOLE=0.2 BENCH_DEAD=0 npm run bench:fleet          # dark area (guarantee 9)
 *   BENCH_METERS=100000 BENCH_INTERVAL_MS=60000 BENCH_DEAD=0.2 BENCH_BLACKHOLE=0 BENCH_WORKERS=1 \
 *     BENCH_INTERVALS=3 BENCH_WARMUP_INTERVALS=1 BENCH_ON_DEMAND_READS=20 npm run bench:fleet
 *
 * A simulator process serves the fleet behind one gateway address (meterNumber addressing; a dead meter
 * resets the connection, a blackholed one accepts it and never answers; both from the start). The meters
 * are registered in one statement, an in-process api reconciles the schedules, BENCH_WORKERS worker
 * processes poll.
 *
 * Measurement starts the moment the worker(s) are ready, so interval 1 is the FIRST interval of polling
 * (guarantee 9 counts it: a dark area must not blind the fleet while every dark meter is tried once).
 * BENCH_INTERVALS intervals are measured, each reported on its own: answering meters read (and %), reads
 * ok / failed, meters read twice, read start after its tick p50 / p99, on-demand read-obis p50 / max, CPU
 * of each process. BENCH_WARMUP_INTERVALS (default 1) only says which intervals are "steady state": the
 * gaps between two scheduled reads and the CPU verdict leave them out, because ticks that fell due before
 * the worker started run late once (up to half an interval, then they are dropped as stale), which
 * shortens the next gap and costs a burst of CPU that is start-up, not steady load. So the defaults
 * (3 measured, 1 warm-up) measure the same two steady intervals the earlier version of this bench did,
 * plus the first one it used to hide. Failed reads per interval show how offline meters are retried: with
 * BENCH_INTERVALS=10 a backoff without jitter shows as a burst of failures every few intervals.
 *
 * An interval is a window of ticks when the reads carry their tick (meter_reads.tick_at): each meter has
 * exactly one tick per window, so "read in the interval" and "read twice for one tick" are exact. Reads
 * without tick_at (code before issue 8) fall back to windows of read start time, where a meter read near
 * an edge can count twice in one window and not in the next (the gaps show whether that is real), and how
 * late reads start is then only known for each meter's last claimed tick (meters.last_poll_at, the first
 * read after it), over the whole run: a tick cannot be derived from the schedule's phase, because a dark
 * area makes reads start up to and beyond a whole interval late.
 *
 * Verdict lines (PASS/FAIL): the worst interval's share of answering meters read ≥ 99.5 %, on-demand p95
 * < 500 ms over all intervals (a failed on-demand read counts as infinitely slow), worker CPU ≤ 0.6 core in
 * steady state (each worker), the simulator and every worker still running at the end. The exit code is 2
 * when a target is missed, 1 on an error.
 */
import { adminToken, buildOnce, createTestApi, startProcess, type StartedProcess } from '@app/testing';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import { envNumber, percentile, runBench, sleep } from './bench-helpers';

const METERS = Math.floor(envNumber('BENCH_METERS', 100_000, 10, 200_000));
const INTERVAL_MS = Math.floor(envNumber('BENCH_INTERVAL_MS', 60_000, 1000, 600_000));
const DEAD = envNumber('BENCH_DEAD', 0.2, 0, 1);
const BLACKHOLE = envNumber('BENCH_BLACKHOLE', 0, 0, 1);
const WORKERS = Math.floor(envNumber('BENCH_WORKERS', 1, 1, 8));
const INTERVALS = Math.floor(envNumber('BENCH_INTERVALS', 3, 1, 10));
const WARMUP_INTERVALS = Math.floor(envNumber('BENCH_WARMUP_INTERVALS', 1, 0, 9));
const ON_DEMAND_READS = Math.floor(envNumber('BENCH_ON_DEMAND_READS', 20, 0, 1000));
if (DEAD + BLACKHOLE > 1) throw new Error('BENCH_DEAD + BENCH_BLACKHOLE must be at most 1');

/** Targets of issue 4 (kept) and issue 8, guarantee 9. */
const TARGET_READ_SHARE = 0.995;
const TARGET_ON_DEMAND_P95_MS = 500;
const TARGET_WORKER_CORES = 0.6;
/**
 * After the last window, reads of its last ticks may still be waiting or running: a tick is dropped as
 * stale after half an interval, then a read takes up to METER_TIMEOUT_MS (10 s by default) plus its store.
 */
const SETTLE_MS = INTERVAL_MS / 2 + 15_000;

/** CPU seconds (user + system) a process has used so far, from /proc; NaN once it has exited. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return NaN;
  }
}

/** CPU seconds of every child process and of this process (in-process api + bench). */
function cpuSnapshot(processes: StartedProcess[]): number[] {
  const own = process.cpuUsage();
  return [...processes.map((p) => cpuSeconds(p.child.pid!)), (own.user + own.system) / 1e6];
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : Number.isNaN(x) ? 'n/a' : 'failed');
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

interface OnDemandSample {
  at: number;
  /** Infinity when the read did not answer 200. */
  ms: number;
  failure?: string;
}

interface IntervalRow {
  k: number;
  ok: number;
  failed: number;
  meters: number;
  twice: number;
  late_p50: number | null;
  late_p99: number | null;
}

/** What worker 1's /metrics said at a window edge (cumulative counters, and the event loop since the last read). */
interface WorkerMetrics {
  storeStatements: number;
  storeSeconds: number;
  storeRows: number;
  backlog: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function workerMetrics(port: number): Promise<WorkerMetrics> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    storeStatements: value('hes_store_duration_seconds_count'),
    storeSeconds: value('hes_store_duration_seconds_sum'),
    storeRows: value('hes_store_rows_total'),
    backlog: value('hes_store_backlog_reads'),
    loopP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    loopMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

function describeWorkerWindow(a: WorkerMetrics, b: WorkerMetrics): string {
  const statements = b.storeStatements - a.storeStatements;
  const rows = b.storeRows - a.storeRows;
  return (
    `${statements} store statements of ${(rows / statements).toFixed(0)} rows on average, ` +
    `${((1000 * (b.storeSeconds - a.storeSeconds)) / statements).toFixed(0)} ms each; store backlog at the end ` +
    `${b.backlog} reads; event loop delay p99 ${b.loopP99Ms.toFixed(0)} ms, max ${b.loopMaxMs.toFixed(0)} ms`
  );
}

async function main(): Promise<void> {
  // The worker and simulator run from the build, as in production (see startProcess).
  buildOnce();
  await globalSetup();
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const manifestPath = join(tmpdir(), `hes-fleet-bench-${process.pid}.json`);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    QUEUE_PREFIX: 'hes-bench-fleet',
    METER_POLLING_INTERVAL: String(INTERVAL_MS),
    METER_ALLOWED_NETWORKS: '127.0.0.0/8',
    METER_ALLOWED_PORTS: '1024-65535',
  };
  const processes: StartedProcess[] = [];
  let api: Awaited<ReturnType<typeof createTestApi>> | undefined;
  let missed = 0;
  try {
    const faults = ['--dead', String(DEAD), '--blackhole', String(BLACKHOLE)];
    const sim = await startProcess('simulator', {
      args: ['--meters', String(METERS), '--port', '0', '--control-port', '0', ...faults].concat([
        '--format',
        'mixed',
        '--prefix',
        'FLT',
        '--manifest',
        manifestPath,
      ]),
      readyPattern: /simulator ready/,
      readyTimeoutMs: 300_000,
      fromBuild: true,
    });
    processes.push(sim);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      meterNumber: string;
      ipAddress: string;
      port: number;
      fault: string;
    }[];
    const gatewayPort = Number(/gateway http:\/\/[\d.]+:(\d+)/.exec(sim.output())![1]);
    const okMeters = manifest.filter((m) => m.fault === 'ok');
    const faultCount = (f: string) => manifest.filter((m) => m.fault === f).length;

    api = await createTestApi(env);
    const token = await adminToken(api);
    const area = await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'Fleet bench', code: 'FLEET' })
      .expect(201);
    const started = Date.now();
    await db.query(
      `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
       select n, 'three-phase', 'simulated', 'SIM-1', $2, '127.0.0.1', $3, 'online' from unnest($1::text[]) as n`,
      [manifest.map((m) => m.meterNumber), area.body.data.id, gatewayPort],
    );
    await db.query(
      `create temporary table answering as select id from meters where meter_number = any($1::text[])`,
      [okMeters.map((m) => m.meterNumber)],
    );
    console.log(
      `registered ${METERS} meters in ${Date.now() - started} ms: ${okMeters.length} answering, ` +
        `${faultCount('dead')} dead, ${faultCount('blackhole')} blackholed`,
    );

    // Worker 1's metrics are read at each window edge: where its time went (store, event loop).
    const metricsPort = await freePort();
    for (let i = 0; i < WORKERS; i++) {
      processes.push(
        await startProcess('worker', {
          env: i === 0 ? { ...env, WORKER_HTTP_PORT: String(metricsPort) } : env,
          readyPattern: /worker ready/,
          readyTimeoutMs: 120_000,
          fromBuild: true,
        }),
      );
    }
    const from = Date.now();
    const windowStart = (k: number) => new Date(from + k * INTERVAL_MS);
    const measureEnd = from + INTERVALS * INTERVAL_MS;
    console.log(
      `${WORKERS} worker(s) polling every ${INTERVAL_MS} ms; measuring ${INTERVALS} intervals from now ` +
        `(the first ${WARMUP_INTERVALS} left out of the steady-state gap and CPU figures)…`,
    );

    // CPU is sampled at each window edge; on-demand reads are spread evenly over the whole measurement.
    const cpuAtEdges: number[][] = [cpuSnapshot(processes)];
    const metricsAtEdges: WorkerMetrics[] = [await workerMetrics(metricsPort)];
    const sampleCpu = (async () => {
      for (let k = 1; k <= INTERVALS; k++) {
        await sleep(Math.max(0, from + k * INTERVAL_MS - Date.now()));
        cpuAtEdges.push(cpuSnapshot(processes));
        metricsAtEdges.push(await workerMetrics(metricsPort));
      }
    })();
    const onDemand: OnDemandSample[] = [];
    for (let i = 0; i < ON_DEMAND_READS && Date.now() < measureEnd; i++) {
      await sleep(Math.max(0, from + ((i + 1) * (measureEnd - from)) / (ON_DEMAND_READS + 1) - Date.now()));
      const meter = okMeters[Math.floor(Math.random() * okMeters.length)];
      const at = Date.now();
      const t0 = performance.now();
      const res = await request(api.server)
        .post(`/api/meters/${meter.meterNumber}/read-obis`)
        .set('Authorization', `Bearer ${token}`)
        .send({});
      const took = performance.now() - t0;
      onDemand.push(
        res.status === 200
          ? { at, ms: took }
          : { at, ms: Infinity, failure: `${res.status} ${res.body?.message} after ${took.toFixed(0)} ms` },
      );
    }
    await sampleCpu;

    const { rows: tickRows } = await db.query<{ ticked: boolean }>(
      `select exists (select 1 from meter_reads where tick_at is not null and read_at >= $1) as ticked`,
      [windowStart(0)],
    );
    const byTick = tickRows[0].ticked;
    if (byTick) {
      console.log(`letting the last ticks' reads finish (${SETTLE_MS / 1000} s)…`);
      await sleep(SETTLE_MS);
    }

    // The window key: the read's tick when it carries one, else its start.
    const { rows } = await db.query<IntervalRow>(
      `with r as (
         select r.meter_id, r.communication_status <> 'failed' as ok, a.id is not null as answering,
                coalesce(r.tick_at, r.read_at) as window_at, extract(epoch from r.read_at - r.tick_at) * 1000 as late_ms
         from meter_reads r left join answering a on a.id = r.meter_id
         where r.reading_type = 'scheduled' and coalesce(r.tick_at, r.read_at) >= $1::timestamptz
           and coalesce(r.tick_at, r.read_at) < $1::timestamptz + $2::int * $3::float8 * interval '1 millisecond'
       ), w as (
         select floor(extract(epoch from window_at - $1::timestamptz) * 1000 / $3::float8)::int as k, * from r
       )
       select k, count(*) filter (where ok)::int as ok, count(*) filter (where not ok)::int as failed,
              count(distinct meter_id) filter (where ok and answering)::int as meters,
              (select count(*)::int from (select 1 from w w2 where w2.k = w.k group by meter_id having count(*) > 1) t)
                as twice,
              percentile_cont(0.5) within group (order by late_ms)::int as late_p50,
              percentile_cont(0.99) within group (order by late_ms)::int as late_p99
       from w group by k order by k`,
      [windowStart(0), INTERVALS, INTERVAL_MS],
    );

    const seconds = INTERVAL_MS / 1000;
    const names = ['simulator', ...Array.from({ length: WORKERS }, (_, i) => `worker ${i + 1}`), 'api+bench'];
    console.log(
      `\nmeasured ${INTERVALS} intervals of ${seconds} s from the start of polling; ${okMeters.length} answering ` +
        `meters; windows of ${byTick ? 'ticks (meter_reads.tick_at)' : 'read start (no tick_at stored)'}`,
    );
    const shares: number[] = [];
    for (let k = 0; k < INTERVALS; k++) {
      const r = rows.find((x) => x.k === k) ?? {
        k,
        ok: 0,
        failed: 0,
        meters: 0,
        twice: 0,
        late_p50: null,
        late_p99: null,
      };
      shares.push(r.meters / okMeters.length);
      const cpu = cpuAtEdges[k + 1].map((c, i) => (c - cpuAtEdges[k][i]) / seconds);
      const demand = onDemand
        .filter((s) => s.at >= windowStart(k).getTime() && s.at < windowStart(k + 1).getTime())
        .map((s) => s.ms)
        .sort((a, b) => a - b);
      console.log(
        `interval ${k + 1}${k < WARMUP_INTERVALS ? ' (warm-up)' : ''}: answering meters read ${r.meters} of ` +
          `${okMeters.length} (${pct(r.meters, okMeters.length)}); reads ok ${r.ok}, failed ${r.failed}; ` +
          `meters read twice ${r.twice}; read start after its tick p50 ${ms(r.late_p50 ?? NaN)}, ` +
          `p99 ${ms(r.late_p99 ?? NaN)}; on-demand n=${demand.length} p50 ${ms(percentile(demand, 0.5))}, ` +
          `max ${ms(demand.at(-1) ?? NaN)}; CPU cores ${names.map((n, i) => `${n} ${cpu[i].toFixed(2)}`).join(', ')}`,
      );
      console.log(`  worker 1: ${describeWorkerWindow(metricsAtEdges[k], metricsAtEdges[k + 1])}`);
    }

    // Exactness shows in the gaps between consecutive scheduled reads of an answering meter (min ≈ interval
    // means never twice per interval), over the steady-state intervals only (see the header).
    const steady = Math.min(WARMUP_INTERVALS, INTERVALS - 1);
    const gap = await db.query<{ min: number; p01: number; p99: number; max: number }>(
      `select min(g)::int as min, percentile_cont(0.01) within group (order by g)::int as p01,
              percentile_cont(0.99) within group (order by g)::int as p99, max(g)::int as max from (
         select extract(epoch from read_at - lag(read_at) over (partition by meter_id order by read_at)) * 1000 as g
         from meter_reads where read_at >= $1 and read_at < $2 and communication_status <> 'failed'
           and reading_type = 'scheduled') t where g is not null`,
      [windowStart(steady), windowStart(INTERVALS)],
    );
    const g = gap.rows[0];
    console.log(
      `gap between two scheduled reads of an answering meter (intervals ${steady + 1}-${INTERVALS}): min ${ms(g.min ?? NaN)}, ` +
        `p1 ${ms(g.p01 ?? NaN)}, p99 ${ms(g.p99 ?? NaN)}, max ${ms(g.max ?? NaN)} (interval ${INTERVAL_MS} ms)`,
    );
    if (!byTick) {
      const lateness = await db.query<{ p50: number; p99: number; max: number }>(
        `select percentile_cont(0.5) within group (order by l)::int as p50,
                percentile_cont(0.99) within group (order by l)::int as p99, max(l)::int as max
         from (select extract(epoch from r.read_at - m.last_poll_at) * 1000 as l
               from meters m cross join lateral (
                 select read_at from meter_reads where meter_id = m.id and reading_type = 'scheduled'
                   and read_at >= m.last_poll_at order by read_at limit 1) r
               where m.deleted_at is null and m.last_poll_at >= $1) t`,
        [windowStart(0)],
      );
      const late = lateness.rows[0];
      console.log(
        `read start after its tick (no tick_at stored: each meter's last claimed tick, whole run): ` +
          `p50 ${ms(late.p50 ?? NaN)}, p99 ${ms(late.p99 ?? NaN)}, max ${ms(late.max ?? NaN)}`,
      );
    } else {
      const dup = await db.query<{ n: number }>(
        `select count(*)::int as n from (select 1 from meter_reads where reading_type = 'scheduled'
           and tick_at is not null group by meter_id, tick_at having count(*) > 1) t`,
      );
      console.log(`meters with two scheduled records for one tick (whole run): ${dup.rows[0].n}`);
    }

    const all = onDemand.map((s) => s.ms).sort((a, b) => a - b);
    const failures = onDemand.filter((s) => s.failure).map((s) => s.failure);
    console.log(
      `on-demand read-obis while polling (all intervals): n=${all.length} p50 ${ms(percentile(all, 0.5))} ` +
        `p95 ${ms(percentile(all, 0.95))} max ${ms(all.at(-1) ?? NaN)}` +
        (failures.length ? `; ${failures.length} failed: ${failures.join(', ')}` : ''),
    );
    const steadyCpu = cpuAtEdges[INTERVALS].map(
      (c, i) => (c - cpuAtEdges[steady][i]) / ((INTERVALS - steady) * seconds),
    );
    console.log(
      `CPU (cores used on average, intervals ${steady + 1}-${INTERVALS}): ` +
        names.map((n, i) => `${n} ${steadyCpu[i].toFixed(2)}`).join(', '),
    );
    const size = await db.query<{ bytes: string; n: string; row_bytes: number }>(
      `select (select sum(pg_total_relation_size(c.oid)) from pg_inherits i join pg_class c on c.oid = i.inhrelid
               where i.inhparent = 'meter_reads'::regclass)::bigint as bytes,
              (select count(*) from meter_reads) as n,
              (select avg(pg_column_size(r.*))::int from meter_reads r where communication_status <> 'failed') as row_bytes`,
    );
    const s = size.rows[0];
    console.log(
      `storage: ${s.n} reads, ${(Number(s.bytes) / Number(s.n)).toFixed(0)} bytes per read with indexes; ` +
        `a successful read row ${s.row_bytes} bytes`,
    );

    const worst = Math.min(...shares);
    const readAll = await db.query<{ n: number }>(
      `select count(*)::int as n from (
         select meter_id from meter_reads
         where reading_type = 'scheduled' and communication_status <> 'failed'
           and meter_id in (select id from answering)
           and coalesce(tick_at, read_at) >= $1 and coalesce(tick_at, read_at) < $2
         group by meter_id
         having count(distinct floor(extract(epoch from coalesce(tick_at, read_at) - $1::timestamptz) * 1000
           / $3::float8)) = $4::int) t`,
      [windowStart(0), windowStart(INTERVALS), INTERVAL_MS, INTERVALS],
    );
    const p95 = percentile(all, 0.95);
    const workerCores = steadyCpu.slice(1, 1 + WORKERS);
    const checks = [
      worst >= TARGET_READ_SHARE,
      !(p95 >= TARGET_ON_DEMAND_P95_MS),
      workerCores.every((c) => c <= TARGET_WORKER_CORES),
      processes.every((p) => p.child.exitCode === null && p.child.signalCode === null),
    ];
    missed = checks.filter((c) => !c).length;
    console.log(
      `\n${verdict(checks[0])} answering meters read in every interval: worst interval ${pct(worst, 1)} ` +
        `(target ≥ ${pct(TARGET_READ_SHARE, 1)}); read in all ${INTERVALS} intervals ${readAll.rows[0].n} of ` +
        `${okMeters.length} (${pct(readAll.rows[0].n, okMeters.length)})`,
    );
    console.log(
      `${verdict(checks[1])} on-demand read-obis p95 ${ms(p95)} (target < ${TARGET_ON_DEMAND_P95_MS} ms, n=${all.length})`,
    );
    console.log(
      `${verdict(checks[2])} worker CPU ${workerCores.map((c) => c.toFixed(2)).join(', ')} core ` +
        `(target ≤ ${TARGET_WORKER_CORES}, intervals ${steady + 1}-${INTERVALS})`,
    );
    const exits = processes.map(
      (p, i) => `${names[i]} ${p.child.exitCode ?? p.child.signalCode ?? 'running'}`,
    );
    console.log(`${verdict(checks[3])} every process still running: ${exits.join(', ')}`);
  } finally {
    await api?.close().catch(() => undefined);
    if (process.env.BENCH_LOG_TAIL) {
      // Diagnosis: the end of each process's own output (BENCH_LOG_TAIL characters).
      for (const p of processes)
        console.log(`\n--- pid ${p.child.pid} ---\n${p.output().slice(-Number(process.env.BENCH_LOG_TAIL))}`);
    }
    await Promise.all(processes.reverse().map((p) => p.stop().catch(() => undefined)));
    await db.end();
    await globalTeardown();
  }
  process.exitCode = missed ? 2 : 0;
}

runBench(main);
