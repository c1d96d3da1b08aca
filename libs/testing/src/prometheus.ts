/**
 * A real Prometheus for tests, on a free loopback port with its data in a temporary folder, scraping the
 * given targets every second; and promtool. Both come from Debian's `prometheus` package, which `npm test`
 * installs when missing (scripts/lib/services.js ensurePrometheus).
 *
 *   const prom = await startPrometheus({ 'hes-api': [apiHostPort], 'hes-worker': [workerHostPort] });
 *   await prom.query('sum(rate(hes_meter_reads_total[10s]))');   // instant vector
 *   await prom.stop();
 *   promtool(['check', 'metrics'], text);                         // { code, output }
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeLoopbackPort } from './dedicated-services';

const PROMETHEUS_BIN = '/usr/bin/prometheus';
const PROMTOOL_BIN = '/usr/bin/promtool';
const START_TIMEOUT_MS = 30_000;

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  url: string;
  /** Instant query through the HTTP API (`/api/v1/query`). */
  query(promql: string): Promise<PrometheusSample[]>;
  /** The scrape targets' health, by job. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  logs(): string;
  stop(): Promise<void>;
}

function requireBinary(bin: string): void {
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: run \`npm test\` once (it installs Debian's prometheus package)`);
  }
}

/** Runs promtool with `args`, `stdin` piped in. */
export function promtool(args: string[], stdin?: string): { code: number; output: string } {
  requireBinary(PROMTOOL_BIN);
  const r = spawnSync(PROMTOOL_BIN, args, { input: stdin ?? '', encoding: 'utf8' });
  return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export async function startPrometheus(
  jobs: Record<string, string[]>,
  options: { scrapeIntervalS?: number; bearerToken?: string } = {},
): Promise<RunningPrometheus> {
  requireBinary(PROMETHEUS_BIN);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hes-prometheus-'));
  const port = await freeLoopbackPort();
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  // JSON is YAML: no YAML writer needed for the config.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: Object.entries(jobs).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
      ...(options.bearerToken ? { authorization: { credentials: options.bearerToken } } : {}),
    })),
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config));
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Prometheus did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: PrometheusSample[] };
      };
      if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
      return body.data!.result;
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets`);
      const body = (await res.json()) as {
        data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
      };
      return body.data.activeTargets.map((t) => ({
        job: t.labels.job,
        health: t.health,
        lastError: t.lastError,
      }));
    },
    logs: () => log,
    stop,
  };
}

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by `(`),
 * keywords, label names (inside `{…}`, `by (…)`, `without (…)`) or durations.
 */
export function metricNamesInPromql(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\(?))/g)) {
    const name = m[0];
    if (m[1] === '(' || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Metric names in a Prometheus text exposition, with each histogram's _bucket, _sum and _count. */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!type) continue;
    names.add(type[1]);
    if (type[2] === 'histogram' || type[2] === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${type[1]}${suffix}`);
    }
  }
  return names;
}
