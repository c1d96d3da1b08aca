/**
 * npm run bench:simulator [-- --runs 3 --seconds 4 --inflight 64]
 *
 * Loads the meter simulator, started as a separate process, with undici over loopback and reports reads/s
 * (median of several runs, 17 default codes per read) and the simulator's RSS:
 *   A. gateway addressing (meterNumber in the body), 10,000 meters
 *   B. per-address meters, 10,000 listeners on 127.20.0.0/16: keep-alive over a 2,000-meter working set,
 *      and a new connection per read over all 10,000 (what minute-interval polling looks like)
 *   C. 100,000 gateway meters: RSS idle, then every meter read once
 * Client and simulator share this machine's cores, so figures are lower bounds and vary with load.
 */
import { readFileSync } from 'node:fs';
import { Agent, Dispatcher, Pool, request } from 'undici';
import { startProcess, StartedProcess } from '../libs/testing/src/processes';
import { DEFAULT_OBIS_CODES } from '../apps/simulator/src/registers';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 3);
const SECONDS = arg('seconds', 4);
const INFLIGHT = arg('inflight', 64);
const CODES_JSON = JSON.stringify(DEFAULT_OBIS_CODES);
const HEADERS = { 'content-type': 'application/json' };
/**
 * Keep-alive runs cycle over this many per-address meters: every connection is a file descriptor on both
 * sides (ulimit -n is 20,000 here and 10,000 go to listeners), and meters must be revisited well within
 * the server's 5 s keep-alive or the run measures reconnects instead.
 */
const KEEP_ALIVE_SET = 2000;

interface Sim {
  proc: StartedProcess;
  gateway: string;
  control: string;
}

async function startSim(args: string[]): Promise<Sim> {
  const started = Date.now();
  const proc = await startProcess('simulator', {
    args: ['--port', '0', '--control-port', '0', ...args],
    readyPattern: /simulator ready: .*control http:\S+/,
    readyTimeoutMs: 120_000,
  });
  const m = /gateway (http:\S+), control (http:\S+)/.exec(proc.output())!;
  console.log(`  started in ${((Date.now() - started) / 1000).toFixed(1)} s: ${args.join(' ')}`);
  return { proc, gateway: m[1].replace(/,$/, ''), control: m[2] };
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** CPU time (user + system) the process has used, in ms (clock ticks are 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Target {
  url: string;
  body: string;
}

/** `inflight` concurrent loops, each sending the next read as soon as the previous one finished. */
async function load(
  next: () => Target,
  dispatcher: Dispatcher,
  opts: { ms?: number; total?: number; reset?: boolean },
): Promise<{ perSec: number; ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  let issued = 0;
  const started = performance.now();
  const end = started + (opts.ms ?? Infinity);
  const worker = async () => {
    while (performance.now() < end && (opts.total === undefined || issued < opts.total)) {
      issued++;
      const t = next();
      try {
        const res = await request(t.url, {
          method: 'POST',
          body: t.body,
          headers: HEADERS,
          dispatcher,
          reset: opts.reset,
        });
        const text = await res.body.text();
        if (res.statusCode === 200 && text.length > 100) ok++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  return { perSec: ok / ((performance.now() - started) / 1000), ok, failed };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median reads/s over RUNS runs, and the simulator's CPU time per read (µs, independent of client load). */
async function runs(
  label: string,
  pid: number,
  next: () => Target,
  dispatcher: Dispatcher,
  reset = false,
): Promise<{ perSec: number; cpuUs: number }> {
  await load(next, dispatcher, { ms: 2000, reset }); // warm-up (JIT, connections)
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu0 = cpuMs(pid);
    const r = await load(next, dispatcher, { ms: SECONDS * 1000, reset });
    const us = ((cpuMs(pid) - cpu0) * 1000) / Math.max(1, r.ok + r.failed);
    rates.push(r.perSec);
    cpu.push(us);
    console.log(
      `  ${label} run ${i + 1}: ${Math.round(r.perSec)} reads/s (${r.ok} ok, ${r.failed} failed), ` +
        `simulator CPU ${us.toFixed(0)} µs/read`,
    );
  }
  return { perSec: median(rates), cpuUs: median(cpu) };
}

const fmt = (r: { perSec: number; cpuUs: number }) =>
  `${Math.round(r.perSec)} reads/s median, simulator CPU ${r.cpuUs.toFixed(0)} µs/read`;

function gatewayTargets(gateway: string, meters: number): () => Target {
  let i = 0;
  const url = `${gateway}/api/read`;
  return () => {
    const n = (i++ % meters) + 1;
    return { url, body: `{"meterNumber":"SIM-${String(n).padStart(6, '0')}","obisCodes":${CODES_JSON}}` };
  };
}

async function main(): Promise<void> {
  const summary: string[] = [];
  const body = `{"obisCodes":${CODES_JSON}}`;
  console.log(`simulator benchmark: ${RUNS} runs × ${SECONDS} s, ${INFLIGHT} in flight, 17 codes per read`);

  console.log('A. gateway addressing, 10,000 meters');
  let sim = await startSim(['--meters', '10000', '--format', 'mixed']);
  let pool = new Pool(sim.gateway, { connections: INFLIGHT });
  const a = await runs('gateway', sim.proc.child.pid!, gatewayTargets(sim.gateway, 10_000), pool);
  summary.push(
    `gateway (meterNumber), 10k meters:        ${fmt(a)}, RSS ${rssMb(sim.proc.child.pid!).toFixed(0)} MB`,
  );
  await pool.close();
  await sim.proc.stop();

  console.log('B. per-address meters, 10,000 listeners on 127.20.0.0/16');
  const meterPort = 20000 + Math.floor(Math.random() * 20000);
  sim = await startSim([
    '--meters',
    '10000',
    '--addresses',
    '127.20.0.0/16',
    '--meter-port',
    String(meterPort),
    '--format',
    'mixed',
  ]);
  const manifest = (await (await request(`${sim.control}/manifest`)).body.json()) as {
    ipAddress: string;
    port: number;
  }[];
  const urls = manifest.map((m) => `http://${m.ipAddress}:${m.port}/api/read`);
  const idleRss = rssMb(sim.proc.child.pid!);
  let agent = new Agent({ connections: 1, keepAliveTimeout: 10_000 });
  let j = 0;
  const b1 = await runs(
    'per-address keep-alive (2k set)',
    sim.proc.child.pid!,
    () => ({ url: urls[j++ % KEEP_ALIVE_SET], body }),
    agent,
  );
  await agent.close();
  agent = new Agent({ connections: 1 });
  let k = 0;
  const b2 = await runs(
    'per-address new connection',
    sim.proc.child.pid!,
    () => ({ url: urls[k++ % urls.length], body }),
    agent,
    true,
  );
  const rss10k = rssMb(sim.proc.child.pid!);
  summary.push(`per-address, keep-alive, 2k of 10k meters: ${fmt(b1)}`);
  summary.push(`per-address, new connection per read:     ${fmt(b2)}`);
  summary.push(
    `10k per-address meters RSS:               ${idleRss.toFixed(0)} MB idle, ${rss10k.toFixed(0)} MB after load`,
  );
  await agent.close();
  await sim.proc.stop();

  console.log('C. 100,000 gateway meters');
  sim = await startSim(['--meters', '100000', '--format', 'mixed']);
  const idle100k = rssMb(sim.proc.child.pid!);
  pool = new Pool(sim.gateway, { connections: INFLIGHT });
  const c = await load(gatewayTargets(sim.gateway, 100_000), pool, { total: 100_000 });
  const counters = (await (await request(`${sim.control}/counters`)).body.json()) as {
    totals: { reads: number };
  };
  const rss100k = rssMb(sim.proc.child.pid!);
  console.log(`  every meter read once: ${c.ok} ok, ${c.failed} failed, ${Math.round(c.perSec)} reads/s`);
  summary.push(
    `100k gateway meters, each read once:       ${Math.round(c.perSec)} reads/s (${counters.totals.reads} reads counted)`,
  );
  summary.push(
    `100k gateway meters RSS:                  ${idle100k.toFixed(0)} MB idle, ${rss100k.toFixed(0)} MB after every meter was read`,
  );
  await pool.close();
  await sim.proc.stop();

  console.log('\n=== simulator benchmark summary ===');
  for (const line of summary) console.log(line);
  console.log('(client and simulator share the machine: reads/s are lower bounds and vary with other load)');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
