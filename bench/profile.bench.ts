/**
 * Load profile collection at fleet scale: BENCH_METERS simulated meters (default 100,000) each hand over
 * one day of 15-minute profile (96 entries: 9.6 million entries for the default fleet) to one worker
 * process, which collects them through the profile queue (COLLECT jobs of 50 meters, as a scheduled tick
 * adds them) and stores them in load_profile_entries. A simulator process serves the fleet behind its
 * gateway. Its own PostgreSQL database and Redis logical db (as a jest run gets).
 *
 *   npm run bench:profile
 *   BENCH_METERS=10000 npm run bench:profile
 *
 * Reports entries stored per second (first job queued → last job done), bytes per entry (heap + primary
 * key of the partitions, divided by the entries), and CPU per process (cores used on average over the
 * collection: worker, simulator, this process, PostgreSQL's live backends).
 */
import { bullRootOptions, PROFILE_COLLECT_BATCH, PROFILE_JOBS, QUEUES } from '@app/contracts';
import { buildOnce, startProcess, StartedProcess } from '@app/testing';
import { Queue } from 'bullmq';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { COLLECT_JOB_OPTIONS } from '../apps/worker/src/profiles/profile-queue.worker';
import globalSetup from '../libs/testing/src/global-setup';
import globalTeardown from '../libs/testing/src/global-teardown';
import { envNumber, runBench, sleep } from './bench-helpers';

const METERS = envNumber('BENCH_METERS', 100_000, 1, 200_000);
const PERIOD_S = 900;
const DAY_MS = 86_400_000;

function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of PostgreSQL: the postmaster and its live backends (from .data/postgres/postmaster.pid). */
function postgresCpuSeconds(): number {
  try {
    const dataDir = join(__dirname, '..', '.data', 'postgres');
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let total = cpuSeconds(postmaster);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
        if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        // exited meanwhile
      }
    }
    return total;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  // The worker and simulator run from the build, as in production (see startProcess).
  buildOnce();
  await globalSetup();
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const prefix = 'hes-bench-profile';
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    QUEUE_PREFIX: prefix,
    METER_ALLOWED_NETWORKS: '127.0.0.0/8',
    // The simulator's gateway listens on a port the system chooses.
    METER_ALLOWED_PORTS: '1024-65535',
    PROFILE_RETENTION_DAYS: '400',
  };
  const processes: StartedProcess[] = [];
  const manifestPath = join(tmpdir(), `hes-profile-bench-${process.pid}.json`);
  const queue = new Queue(QUEUES.PROFILE, bullRootOptions(process.env.REDIS_URL!, prefix));
  try {
    const sim = await startProcess('simulator', {
      args: ['--meters', String(METERS), '--port', '0', '--control-port', '0', '--prefix', 'PRF'].concat([
        '--profile-period',
        String(PERIOD_S),
        '--manifest',
        manifestPath,
      ]),
      readyPattern: /simulator ready/,
      readyTimeoutMs: 300_000,
      fromBuild: true,
    });
    processes.push(sim);
    const gatewayPort = Number(/gateway http:\/\/[\d.]+:(\d+)/.exec(sim.output())![1]);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { meterNumber: string }[];
    const area = await db.query<{ id: string }>(
      `insert into areas (name, code) values ('Profile bench', 'PROFILE') returning id`,
    );
    // Every meter was collected up to exactly one day ago: this collection reads one day (96 entries).
    const dayAgo = new Date(Math.floor((Date.now() - DAY_MS) / (PERIOD_S * 1000)) * PERIOD_S * 1000);
    const { rows: meters } = await db.query<{ id: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
       select n, 'three-phase', 'simulated', 'SIM-1', $2, '127.0.0.1', $3, 'online' from unnest($1::text[]) as n
       returning id`,
      [manifest.map((m) => m.meterNumber), area.rows[0].id, gatewayPort],
    );
    await db.query(
      `insert into load_profile_state (meter_id, profile, capture_period_s, last_captured_at, last_collected_at)
       select unnest($1::uuid[]), 1, $2, $3, now()`,
      [meters.map((m) => m.id), PERIOD_S, dayAgo],
    );
    const worker = await startProcess('worker', {
      env,
      fromBuild: true,
      readyPattern: /worker ready/,
      readyTimeoutMs: 120_000,
    });
    processes.push(worker);
    console.log(`${METERS} meters, one day of ${PERIOD_S / 60}-minute profile each; collecting…`);

    const cpu = () => [
      cpuSeconds(worker.child.pid!),
      cpuSeconds(sim.child.pid!),
      (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      postgresCpuSeconds(),
    ];
    const cpuBefore = cpu();
    const started = Date.now();
    const jobs = [];
    for (let i = 0; i < meters.length; i += PROFILE_COLLECT_BATCH) {
      jobs.push({
        name: PROFILE_JOBS.COLLECT,
        data: { meterIds: meters.slice(i, i + PROFILE_COLLECT_BATCH).map((m) => m.id), reason: 'scheduled' },
        opts: COLLECT_JOB_OPTIONS,
      });
    }
    for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
    for (let last = 0; ;) {
      await sleep(2000);
      // The job schedulers' next ticks wait as delayed jobs: count what is finished instead.
      const c = await queue.getJobCounts('completed', 'failed');
      const done = c.completed + c.failed;
      const left = jobs.length - done;
      if (Date.now() - last > 30_000) {
        console.log(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${done}/${jobs.length} jobs done`);
        last = Date.now();
      }
      if (left <= 0) break;
    }
    const seconds = (Date.now() - started) / 1000;
    const cpuAfter = cpu();
    const { rows } = await db.query<{ entries: string; heap: string; idx: string; failed: string }>(
      `select (select count(*) from load_profile_entries) as entries,
              (select sum(pg_relation_size(inhrelid)) from pg_inherits
                where inhparent = 'load_profile_entries'::regclass) as heap,
              (select sum(pg_indexes_size(inhrelid)) from pg_inherits
                where inhparent = 'load_profile_entries'::regclass) as idx,
              (select count(*) from load_profile_state where last_captured_at <= $1) as failed`,
      [dayAgo],
    );
    const entries = Number(rows[0].entries);
    const heap = Number(rows[0].heap);
    const idx = Number(rows[0].idx);
    const failed = await queue.getJobCounts('failed');
    for (const job of await queue.getFailed(0, 2)) console.log(`failed job ${job.id}: ${job.failedReason}`);
    console.log(
      `\nstored ${entries.toLocaleString()} entries (expected ${(METERS * 96).toLocaleString()}) in ${seconds.toFixed(1)} s: ` +
        `${Math.round(entries / seconds).toLocaleString()} entries/s; meters not collected ${rows[0].failed}, failed jobs ${failed.failed}`,
    );
    console.log(
      `bytes per entry: ${((heap + idx) / entries).toFixed(1)} (heap ${(heap / entries).toFixed(1)} + primary key ${(idx / entries).toFixed(1)}); ` +
        `100,000 meters x 96 entries/day = ${((((heap + idx) / entries) * 9.6e6) / 1e9).toFixed(2)} GB/day`,
    );
    if (entries < METERS * 96) {
      // A collection that stored less than the meters hold is a failed run, whatever its speed.
      console.log(
        `FAIL: ${(METERS * 96 - entries).toLocaleString()} entries the meters hold were not stored`,
      );
      process.exitCode = 1;
    }
    const names = ['worker', 'simulator', 'bench', 'postgres (live backends)'];
    console.log(
      `CPU (cores on average over the collection): ` +
        names.map((n, i) => `${n} ${((cpuAfter[i] - cpuBefore[i]) / seconds).toFixed(2)}`).join(', ') +
        ` (machine shared)`,
    );
  } finally {
    await queue.close();
    for (const p of processes.reverse()) await p.stop().catch(() => undefined);
    await db.end();
    await globalTeardown();
  }
}

runBench(main);
