/**
 * Operations, seen the way an SRE sees them: a real Prometheus scrapes the api and a worker process while
 * they poll simulated meters, promtool accepts both /metrics outputs, and readiness follows Redis going
 * away and coming back.
 */
import {
  exposedMetricNames,
  freeLoopbackPort,
  metricNamesInPromql,
  promtool,
  startDedicatedRedis,
  startPrometheus,
  type DedicatedRedisServer,
  type RunningPrometheus,
  type StartedProcess,
} from '@app/testing';
import { METRICS } from '@app/metrics';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import {
  configureOnlineAtGateway,
  pollingEnv,
  retireMeters,
  sleep,
  startPollingStack,
  startWorker,
  waitFor,
  type PollingStack,
} from './polling-helpers';

const INTERVAL = 2000;
const METERS = 12;
const METRICS_TOKEN = 'ops-metrics-token-0123456789';

jest.setTimeout(180_000);

describe('operations: Prometheus metrics and readiness (api + worker, real Prometheus)', () => {
  let redis: DedicatedRedisServer;
  let stack: PollingStack;
  let worker: StartedProcess;
  let workerUrl: string;
  let prom: RunningPrometheus;

  const scrape = async (url: string, token: string | null = METRICS_TOKEN) => {
    const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  /** Sum of a metric's samples (with an optional label filter) in a Prometheus text exposition. */
  const sumOf = (text: string, name: string, filter = '') =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .filter((l) => l.includes(filter))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const workerReads = async () => sumOf((await scrape(`${workerUrl}/metrics`)).text, METRICS.READS);
  const promValue = async (promql: string) => {
    const result = await prom.query(promql);
    return result.length ? Number(result[0].value[1]) : NaN;
  };

  beforeAll(async () => {
    redis = await startDedicatedRedis();
    const env = pollingEnv('hes-ops-metrics', {
      REDIS_URL: redis.url,
      METER_POLLING_INTERVAL: String(INTERVAL),
      METRICS_TOKEN,
    });
    stack = await startPollingStack(env, { meters: METERS, seed: 19, prefix: 'OPM' }, 'OPS-M');
    const workerPort = await freeLoopbackPort();
    worker = await startWorker({ ...env, WORKER_HTTP_PORT: String(workerPort) });
    await worker.waitForOutput(/worker http listening on port/);
    workerUrl = `http://127.0.0.1:${workerPort}`;
    prom = await startPrometheus(
      { 'hes-api': [new URL(stack.api.baseUrl).host], 'hes-worker': [`127.0.0.1:${workerPort}`] },
      { scrapeIntervalS: 1, bearerToken: METRICS_TOKEN },
    );
    await configureOnlineAtGateway(stack.api, stack.token, stack.meterIds, stack.sim);
  });

  afterAll(async () => {
    await prom?.stop();
    await worker?.stop('SIGTERM');
    await stack?.api.close();
    if (stack) await retireMeters(stack.db, stack.meterIds);
    await stack?.sim.stop();
    await stack?.db.end();
    await redis?.close();
  });

  it('serves /metrics on the api and the worker, only with METRICS_TOKEN, in a format promtool accepts', async () => {
    await waitFor('the worker to read meters', async () => (await workerReads()) >= METERS, 20_000);
    for (const url of [`${stack.api.baseUrl}/metrics`, `${workerUrl}/metrics`]) {
      expect((await scrape(url, null)).status).toBe(401);
      expect((await scrape(url, 'wrong-token-0123456789')).status).toBe(401);
      // A user's token opens the api, not the metrics: only METRICS_TOKEN does.
      expect((await scrape(url, stack.token)).status).toBe(401);
      const { status, type, text } = await scrape(url);
      expect(status).toBe(200);
      expect(type).toContain('text/plain');
      const checked = promtool(['check', 'metrics'], text);
      expect({ url, ...checked }).toEqual({ url, code: 0, output: '' });
      // Default process metrics on both.
      expect(text).toMatch(/^process_cpu_seconds_total /m);
      expect(text).toMatch(/^process_resident_memory_bytes /m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    }
    const api = (await scrape(`${stack.api.baseUrl}/metrics`)).text;
    expect(sumOf(api, METRICS.METERS, 'status="online"')).toBe(METERS);
    expect(api).toMatch(/^hes_queue_jobs\{queue="meter-poll",state="delayed"\} \d+/m);
    expect(api).toMatch(/^hes_queue_jobs\{queue="meter-command",state="waiting"\} \d+/m);
    expect(api).toMatch(/^hes_socket_clients \d+/m);
    // The route template, never the raw path (the meters were configured through the batch endpoint).
    expect(api).toMatch(
      /^hes_http_request_duration_seconds_count\{method="POST",route="\/api\/meters\/batch\/configure-online",status="200"\} 1$/m,
    );
    const worker = (await scrape(`${workerUrl}/metrics`)).text;
    for (const name of [
      METRICS.READS,
      METRICS.READ_DURATION,
      METRICS.POLL_LAG,
      METRICS.STORE_DURATION,
      METRICS.STORE_ROWS,
      METRICS.EVENTS_PUBLISHED,
      METRICS.EVENTS_UNWATCHED,
    ]) {
      expect(worker).toContain(`# TYPE ${name} `);
    }
    expect(sumOf(worker, METRICS.READS, 'result="success",reading_type="scheduled"')).toBeGreaterThanOrEqual(
      METERS,
    );
    expect(
      sumOf(worker, `${METRICS.READ_DURATION}_count`, 'reading_type="scheduled"'),
    ).toBeGreaterThanOrEqual(METERS);
    expect(sumOf(worker, `${METRICS.POLL_LAG}_count`)).toBeGreaterThanOrEqual(METERS);
    expect(sumOf(worker, METRICS.STORE_ROWS)).toBeGreaterThanOrEqual(METERS);
    // Every stored read's update is either published or counted as unwatched (no socket in its room here).
    expect(
      sumOf(worker, METRICS.EVENTS_PUBLISHED, 'event="meter-reading-update"') +
        sumOf(worker, METRICS.EVENTS_UNWATCHED),
    ).toBeGreaterThanOrEqual(METERS);
  });

  it('every metric in the alert rules and the Grafana dashboards is one the api or the worker exposes', async () => {
    const exposed = new Set([
      // Prometheus's own series for every target.
      'up',
      ...exposedMetricNames((await scrape(`${stack.api.baseUrl}/metrics`)).text),
      ...exposedMetricNames((await scrape(`${workerUrl}/metrics`)).text),
    ]);
    const deploy = path.join(__dirname, '..', 'deploy');
    const alerts = parse(fs.readFileSync(path.join(deploy, 'prometheus', 'alerts.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const queries: Array<{ where: string; expr: string }> = alerts.groups.flatMap((g) =>
      g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    );
    const dashboards = path.join(deploy, 'grafana', 'dashboards');
    for (const file of fs.readdirSync(dashboards).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(fs.readFileSync(path.join(dashboards, file), 'utf8')) as {
        panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      };
      for (const panel of dashboard.panels)
        for (const target of panel.targets ?? [])
          queries.push({ where: `${file}: ${panel.title}`, expr: target.expr });
    }
    expect(queries.length).toBeGreaterThan(15);
    const unknown = queries.flatMap(({ where, expr }) =>
      metricNamesInPromql(expr)
        .filter((name) => !exposed.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // The dashboard shows what the issue asks for.
    const used = new Set(queries.flatMap(({ expr }) => metricNamesInPromql(expr)));
    for (const name of [
      'hes_meters',
      'hes_meter_reads_total',
      'hes_poll_lag_seconds_bucket',
      'hes_queue_jobs',
      'hes_store_duration_seconds_bucket',
      'up',
    ])
      expect(used).toContain(name);
  });

  it('hes_meter_reads_total grows by meters × intervals', async () => {
    const before = await workerReads();
    await sleep(4 * INTERVAL);
    const grown = (await workerReads()) - before;
    // Every meter once per interval; a read at the window's edges may fall on either side.
    expect(grown).toBeGreaterThanOrEqual(METERS * 3);
    expect(grown).toBeLessThanOrEqual(METERS * 5);
  });

  it('a real Prometheus scrapes both and returns the read rate the simulator served', async () => {
    await waitFor('both targets up in Prometheus', async () => {
      const targets = await prom.targets();
      return targets.length === 2 && targets.every((t) => t.health === 'up');
    });
    const window = 5 * INTERVAL;
    const first = stack.sim.control.counters().totals.reads;
    await sleep(window);
    const served = (stack.sim.control.counters().totals.reads - first) / (window / 1000);
    const rate = await promValue(`sum(rate(${METRICS.READS}{job="hes-worker"}[${window / 1000}s]))`);
    // Both are METERS per interval; Prometheus extrapolates a rate from scrapes 1 s apart.
    expect(served).toBeGreaterThan(0);
    expect(rate / served).toBeGreaterThan(0.75);
    expect(rate / served).toBeLessThan(1.25);
    expect(await promValue(`max(${METRICS.METERS}{status="online"})`)).toBe(METERS);
    expect(await promValue(`sum(up{job=~"hes-api|hes-worker"})`)).toBe(2);

    // Stop polling; once the last read is scraped, the total is exactly what the simulator served.
    await retireMeters(stack.db, stack.meterIds);
    let last = -1;
    await waitFor(
      'polling to stop',
      async () => {
        const now = await workerReads();
        const still = now === last;
        last = now;
        return still;
      },
      30_000,
      2 * INTERVAL,
    );
    await waitFor('Prometheus to scrape the last read', async () => {
      return (await promValue(`sum(${METRICS.READS}{job="hes-worker"})`)) === last;
    });
    expect(last).toBe(stack.sim.control.counters().totals.reads);
  });

  it('readiness goes 503 naming Redis while it is stopped, and back to 200 when it returns (api and worker)', async () => {
    const apiReady = () => request(stack.api.server).get('/api/health/ready');
    const workerReady = () => scrape(`${workerUrl}/health/ready`, null);
    expect((await apiReady()).status).toBe(200);
    expect((await workerReady()).status).toBe(200);
    expect((await scrape(`${workerUrl}/health/live`, null)).status).toBe(200);

    await redis.stop();
    try {
      await waitFor('api readiness 503', async () => {
        const res = await apiReady();
        return res.status === 503 && res;
      });
      expect((await apiReady()).body.message).toMatch(/redis/i);
      const down = await waitFor('worker readiness 503', async () => {
        const res = await workerReady();
        return res.status === 503 && res;
      });
      expect(JSON.parse(down.text)).toMatchObject({
        success: false,
        error: { checks: { database: 'up', redis: expect.not.stringMatching(/^up$/) } },
      });
      // Liveness does not depend on Redis: the orchestrator must not restart a worker for Redis's outage.
      expect((await scrape(`${workerUrl}/health/live`, null)).status).toBe(200);
    } finally {
      await redis.start();
    }
    await waitFor('api readiness 200', async () => (await apiReady()).status === 200, 30_000);
    await waitFor('worker readiness 200', async () => (await workerReady()).status === 200, 30_000);
  });
});
