/**
 * Meter transport benchmark: undici vs axios (@nestjs/axios) against one loopback HTTP meter in a
 * child process that answers format-1 reads of the 17 default codes. For each client: requests per
 * second and client CPU µs per request at a fixed number of reads in flight; median of several runs,
 * the clients alternating so drift on the (shared) machine hits both alike.
 *
 *   npm run bench:transport -- [--runs=3] [--duration=3000] [--concurrency=64] [--warmup=2000]
 */
import { MeterAddressPolicy } from '@app/meter-network';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import {
  createMeterTransport,
  METER_TRANSPORT_KINDS,
  type MeterTarget,
  type MeterTransport,
  type MeterTransportKind,
} from '@app/meter-protocol';

function intArg(name: string, fallback: number, min: number, max: number): number {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
}

const RUNS = intArg('runs', 3, 3, 10);
const DURATION_MS = intArg('duration', 3000, 500, 30000);
const WARMUP_MS = intArg('warmup', 2000, 0, 10000);
const CONCURRENCY = intArg('concurrency', 64, 1, 1024);

/** The meter: plain node:http, no dependencies, so it starts with `node -e`. */
const METER_SERVER_SOURCE = `
const http = require('node:http');
const units = { '15.8': 'Wh', '1.8': 'Wh', '2.8': 'Wh', '32.7': 'V', '52.7': 'V', '72.7': 'V', '31.7': 'A',
  '51.7': 'A', '71.7': 'A', '1.7': 'W', '21.7': 'W', '41.7': 'W', '61.7': 'W', '14.7': 'Hz', '13.7': '' };
function reading(code, n) {
  if (code === '0-0:1.0.0.255') return { obisCode: code, value: new Date().toISOString(), unit: '', scaler: 0, quality: 'good' };
  if (code === '0-0:96.1.0.255') return { obisCode: code, value: 'BENCH000001', unit: '', scaler: 0, quality: 'good' };
  const key = code.slice(4, code.lastIndexOf('.0.'));
  const unit = units[key] ?? '';
  const scaler = unit === 'V' ? -1 : unit === 'A' || unit === 'Hz' ? -2 : key === '13.7' ? -3 : 0;
  return { obisCode: code, value: 1000 + (n % 1000), unit, scaler, quality: 'good' };
}
let n = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const { obisCodes } = JSON.parse(Buffer.concat(chunks).toString());
    const body = JSON.stringify({ readings: obisCodes.map((c) => reading(c, n++)) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
`;

async function startMeter(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', METER_SERVER_SOURCE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('meter server did not start')), 10000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /PORT (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`meter server exited with ${code}`)));
  });
  return { child, port };
}

interface RunResult {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

async function run(transport: MeterTransport, target: MeterTarget, durationMs: number): Promise<RunResult> {
  const latencies: number[] = [];
  let failures = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const result = await transport.read(target, DEFAULT_OBIS_CODES);
        if (result.communicationStatus !== 'success') failures++;
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requestsPerSecond: (latencies.length / elapsedMs) * 1000,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    failures,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const { child, port } = await startMeter();
  const stopMeter = () => child.exitCode === null && child.kill('SIGTERM');
  process.once('SIGINT', () => {
    stopMeter();
    process.exit(130);
  });
  const target: MeterTarget = { ipAddress: '127.0.0.1', port, meterNumber: 'BENCH-1' };
  const transports = new Map<MeterTransportKind, MeterTransport>(
    METER_TRANSPORT_KINDS.map((kind) => [
      kind,
      createMeterTransport(kind, {
        timeoutMs: 10000,
        maxResponseBytes: 256 * 1024,
        addressPolicy: MeterAddressPolicy.parse('127.0.0.0/8', '1024-65535'),
        connectionsPerOrigin: CONCURRENCY,
      }),
    ]),
  );
  const results = new Map<MeterTransportKind, RunResult[]>(METER_TRANSPORT_KINDS.map((k) => [k, []]));
  try {
    console.log(
      `meter transport benchmark: ${CONCURRENCY} in flight, ${RUNS} runs × ${DURATION_MS} ms per client ` +
        `(+${WARMUP_MS} ms warm-up), 17-code format-1 reads, loopback meter in a child process`,
    );
    for (const transport of transports.values()) if (WARMUP_MS > 0) await run(transport, target, WARMUP_MS);
    for (let i = 0; i < RUNS; i++) {
      for (const [kind, transport] of transports) {
        const r = await run(transport, target, DURATION_MS);
        results.get(kind)!.push(r);
        console.log(
          `  run ${i + 1} ${kind.padEnd(6)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s ` +
            `${r.cpuMicrosPerRequest.toFixed(0).padStart(5)} µs CPU/req  p50 ${r.p50Ms.toFixed(1)} ms  ` +
            `p99 ${r.p99Ms.toFixed(1)} ms  failures ${r.failures}`,
        );
      }
    }
  } finally {
    for (const t of transports.values()) await t.close();
    stopMeter();
    await once(child, 'exit').catch(() => undefined);
  }

  const rows = METER_TRANSPORT_KINDS.map((kind) => {
    const rs = results.get(kind)!;
    return {
      client: kind,
      'req/s (median)': Math.round(median(rs.map((r) => r.requestsPerSecond))),
      'CPU µs/req (median)': Math.round(median(rs.map((r) => r.cpuMicrosPerRequest))),
      'p50 ms (median)': Number(median(rs.map((r) => r.p50Ms)).toFixed(1)),
      'p99 ms (median)': Number(median(rs.map((r) => r.p99Ms)).toFixed(1)),
      'req/s (min–max)': `${Math.round(Math.min(...rs.map((r) => r.requestsPerSecond)))}–${Math.round(
        Math.max(...rs.map((r) => r.requestsPerSecond)),
      )}`,
      failures: rs.reduce((n, r) => n + r.failures, 0),
    };
  });
  console.table(rows);
  const [undici, axios] = rows;
  console.log(
    `undici/axios: ${(undici['req/s (median)'] / axios['req/s (median)']).toFixed(2)}× throughput, ` +
      `${(axios['CPU µs/req (median)'] / undici['CPU µs/req (median)']).toFixed(2)}× less client CPU per request.`,
  );
  console.log(
    'Caveat: client and meter share this machine (2 cores, other work running), so absolute figures ' +
      'move a lot between runs (see min–max); compare the clients within one invocation.',
  );
  if (rows.some((r) => r.failures > 0)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
