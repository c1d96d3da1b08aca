/**
 * The whole system for the browser tests and the console benchmark, as real processes: PostgreSQL and
 * Redis (scripts/lib/services: started or reused), a scratch database migrated for this run, the meter
 * simulator, the api (serving the console build) and a worker, as in `npm run demo`. Meters are
 * registered through the REST API as `offline`, so the browser sees them come online when first polled.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freeLoopbackPort } from '../../../libs/testing/src/dedicated-services';
import {
  REPO_ROOT,
  startProcess,
  type AppName,
  type StartedProcess,
} from '../../../libs/testing/src/processes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureServices } = require('../../../scripts/lib/services') as {
  ensureServices(opts?: { quiet?: boolean }): Promise<{
    databaseUrl: string;
    redisUrl: string;
    stop(): Promise<void>;
  }>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { migrate } = require('../../../scripts/lib/migrate') as { migrate(url: string): Promise<void> };

export const ADMIN = { username: 'admin', password: `admin-${randomBytes(6).toString('hex')}` };
export const OPERATOR = { username: 'console-operator', password: `op-${randomBytes(6).toString('hex')}` };
export const VIEWER = { username: 'console-viewer', password: `view-${randomBytes(6).toString('hex')}` };

/** What the tests need to know about the running system (written to a file for the test workers). */
export interface StackInfo {
  baseUrl: string;
  simControlUrl: string;
  intervalMs: number;
  meters: { id: string; meterNumber: string }[];
  areaId: string;
  /** A second area holding the last `eastMeters` meters (area-scoped users see only it), if asked for. */
  eastArea: { id: string; code: string; meterNumbers: string[] } | null;
  users: { admin: typeof ADMIN; operator: typeof OPERATOR; viewer: typeof VIEWER };
}

export interface ConsoleStack {
  info: StackInfo;
  stop(): Promise<void>;
}

export interface ConsoleStackOptions {
  meters: number;
  intervalMs: number;
  /** Leave the meters `online` at registration (the benchmark) instead of `offline`. */
  registerOnline?: boolean;
  /**
   * Start every simulated meter dead, so that they stay offline until a test revives them through the
   * simulator's control API (`POST /faults { mode: 'ok' }`) while the browser watches.
   */
  startDead?: boolean;
  /** Register this many of the meters (the last ones) in a second area, `EAST`, instead of `CONSOLE`. */
  eastMeters?: number;
  /** The simulated meters' load profile capture period in seconds (default the simulator's 900). */
  profilePeriodSec?: number;
  /** Run the compiled apps from dist/ (fresh after `npm run build`, as in a full `npm test`) instead of ts-node. */
  compiled?: boolean;
}

async function scratchDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { Client } = await import('pg');
  const name = `hes_console_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

/** The run's queues, schedules and event stream, so that a reused Redis server does not collect them. */
async function dropRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function rest<T>(baseUrl: string, method: string, url: string, token: string | null, body?: unknown) {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as T;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function startConsoleStack(options: ConsoleStackOptions): Promise<ConsoleStack> {
  const consoleDir = path.join(REPO_ROOT, 'dist', 'console');
  if (!fs.existsSync(path.join(consoleDir, 'index.html'))) {
    throw new Error('no console build in dist/console: run `npm run build:console` first');
  }
  const services = await ensureServices({ quiet: true });
  const db = await scratchDatabase(services.databaseUrl);
  const processes: { name: AppName; proc: StartedProcess }[] = [];
  const queuePrefix = `console-${randomBytes(4).toString('hex')}`;
  const stop = async () => {
    // Worker first (its reads still need the rest), then api, then simulator, as the demo does.
    for (const name of ['worker', 'api', 'simulator'] as const) {
      const running = processes.filter((p) => p.name === name);
      await Promise.all(running.map((p) => p.proc.stop().catch(() => undefined)));
    }
    await db.drop().catch(() => undefined);
    await dropRedisKeys(services.redisUrl, queuePrefix).catch(() => undefined);
    await services.stop();
  };
  try {
    const port = await freeLoopbackPort();
    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: services.redisUrl,
      // Queues, schedules and the live-event stream of this run only (other runs share the Redis server).
      QUEUE_PREFIX: queuePrefix,
      PORT: String(port),
      CONSOLE_DIR: consoleDir,
      JWT_SECRET: randomBytes(32).toString('hex'),
      JWT_EXPIRES_IN: '1h',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      METER_POLLING_INTERVAL: String(options.intervalMs),
      METER_TIMEOUT_MS: '1000',
      METER_ALLOWED_NETWORKS: '127.0.0.0/8',
      // The simulator's meters answer on ephemeral ports.
      METER_ALLOWED_PORTS: '1024-65535',
      METER_OFFLINE_AFTER_FAILURES: '1',
      METER_OFFLINE_BACKOFF_MAX_MS: String(options.intervalMs * 2),
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      SHUTDOWN_GRACE_MS: '5000',
    };
    // All three at once: the worker needs only the migrated database and Redis, not the api.
    const started = (name: AppName, p: Promise<StartedProcess>) =>
      p.then((proc) => {
        processes.push({ name, proc });
        return proc;
      });
    // allSettled: every process that did start is in `processes` (and stopped) before a failure is thrown.
    const results = await Promise.allSettled([
      started(
        'simulator',
        startProcess('simulator', {
          args: [
            ...['--meters', String(options.meters), '--port', '0', '--control-port', '0'],
            ...(options.startDead ? ['--dead', '1'] : []),
            ...(options.profilePeriodSec ? ['--profile-period', String(options.profilePeriodSec)] : []),
          ],
          readyPattern: /simulator ready: .*control http:\S+/,
          fromBuild: options.compiled,
        }),
      ),
      started(
        'api',
        startProcess('api', {
          env,
          fromBuild: options.compiled,
          readyPattern: /api listening on port/,
          readyTimeoutMs: 120_000,
        }),
      ),
      started(
        'worker',
        startProcess('worker', {
          env,
          fromBuild: options.compiled,
          readyPattern: /worker ready/,
          readyTimeoutMs: 120_000,
        }),
      ),
    ]);
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const sim = (results[0] as PromiseFulfilledResult<StartedProcess>).value;
    const ready = /simulator ready: \d+ meters, gateway http:\/\/([\d.]+):(\d+), control (http:\S+)/.exec(
      sim.output(),
    )!;
    const [, simHost, simPort, simControlUrl] = ready;

    const baseUrl = `http://127.0.0.1:${port}`;
    type Envelope<T> = { data: T };
    const token = (await rest<Envelope<{ token: string }>>(baseUrl, 'POST', '/api/auth/login', null, ADMIN))
      .data.token;
    for (const [user, role] of [
      [OPERATOR, 'operator'],
      [VIEWER, 'viewer'],
    ] as const) {
      await rest(baseUrl, 'POST', '/api/users', token, { ...user, role });
    }
    const area = await rest<Envelope<{ id: string }>>(baseUrl, 'POST', '/api/areas', token, {
      name: 'Console test area',
      code: 'CONSOLE',
      description: 'Simulated meters of the browser tests',
    });
    const eastMeters = options.eastMeters ?? 0;
    const east =
      eastMeters > 0
        ? await rest<Envelope<{ id: string }>>(baseUrl, 'POST', '/api/areas', token, {
            name: 'Console east area',
            code: 'EAST',
            description: 'Meters of the area-scoped user tests',
          })
        : null;
    const meters: StackInfo['meters'] = [];
    for (let i = 1; i <= options.meters; i++) {
      const meterNumber = `SIM-${String(i).padStart(6, '0')}`;
      const inEast = east !== null && i > options.meters - eastMeters;
      const created = await rest<Envelope<{ id: string }>>(baseUrl, 'POST', '/api/meters', token, {
        meterNumber,
        meterType: 'three-phase',
        brand: 'hexing',
        model: 'HEM-3X30',
        area: inEast ? east.data.id : area.data.id,
        ipAddress: simHost,
        port: Number(simPort),
        status: options.registerOnline ? 'online' : 'offline',
      });
      meters.push({ id: created.data.id, meterNumber });
    }
    return {
      info: {
        baseUrl,
        simControlUrl: simControlUrl!,
        intervalMs: options.intervalMs,
        meters,
        areaId: area.data.id,
        eastArea: east && {
          id: east.data.id,
          code: 'EAST',
          meterNumbers: meters.slice(options.meters - eastMeters).map((m) => m.meterNumber),
        },
        users: { admin: ADMIN, operator: OPERATOR, viewer: VIEWER },
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
