/**
 * The whole live-update path as real processes, for the realtime suites and the benchmark: a simulator,
 * api instance A (in-process, for REST calls and its Socket.IO server), api instance B (a separate
 * `apps/api` child process on its own port), and a worker process polling the simulator and publishing
 * through Redis. Both api instances and the worker share one env (QUEUE_PREFIX, interval, Redis).
 * The worker starts only once both api instances read the live-event stream, so that every event it
 * publishes can be counted at both.
 */
import { CommonEnv } from '@app/config';
import {
  compareStreamIds,
  encodeRealtimeEntry,
  realtimeEntryFields,
  realtimeEntryFromFields,
  realtimeRedisNames,
} from '@app/contracts';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import {
  adminToken,
  applyTestApiEnvDefaults,
  createTestApi,
  freeLoopbackPort,
  startProcess,
  type StartedProcess,
  type TestApi,
} from '@app/testing';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import type { RealtimeStats } from '../apps/api/src/realtime/realtime.controller';
import { startSimulator } from '../apps/simulator/src';
import type { RunningSimulator, SimulatorOptions } from '../apps/simulator/src';

export interface RealtimeStack {
  sim: RunningSimulator;
  apiA: TestApi;
  apiB: { process: StartedProcess; baseUrl: string };
  worker: StartedProcess;
  db: Client;
  admin: string;
  areaId: string;
  /** meterNumber → meter id, for every simulated meter. */
  idOf: Map<string, string>;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface RealtimeStackOptions {
  sim: SimulatorOptions;
  intervalMs: number;
  queuePrefix: string;
  env?: Record<string, string>;
  /**
   * Retire (soft-delete) every live meter already in the database before the worker starts, so that it
   * polls, stores and publishes for this stack's meters only. For suites whose counts cover the whole
   * database (jest runs suites one at a time, and earlier suites may leave pollable meters behind).
   */
  retireEarlierMeters?: boolean;
}

export async function startRealtimeStack(options: RealtimeStackOptions): Promise<RealtimeStack> {
  const env: Record<string, string> = {
    QUEUE_PREFIX: options.queuePrefix,
    METER_POLLING_INTERVAL: String(options.intervalMs),
    METER_TIMEOUT_MS: '1000',
    METER_ALLOWED_NETWORKS: '127.0.0.0/8',
    METER_ALLOWED_PORTS: '1024-65535',
    METER_OFFLINE_AFTER_FAILURES: '1',
    METER_OFFLINE_BACKOFF_MAX_MS: '4000',
    METER_MAX_CONCURRENT_POLLS: '200',
    ...options.env,
  };
  const parts: Partial<RealtimeStack> = {};
  const stop = async () => {
    await parts.worker?.stop().catch(() => undefined);
    await parts.apiB?.process.stop().catch(() => undefined);
    await parts.apiA?.close().catch(() => undefined);
    await parts.sim?.stop().catch(() => undefined);
    await parts.db?.end().catch(() => undefined);
  };
  try {
    parts.db = new Client({ connectionString: process.env.DATABASE_URL });
    await parts.db.connect();
    if (options.retireEarlierMeters) {
      await parts.db.query('update meters set deleted_at = now() where deleted_at is null');
    }
    parts.sim = await startSimulator({ log: () => undefined, ...options.sim });
    // A (in this process) and B (a child) boot side by side, on the two cores. Both take the test env
    // defaults (JWT_SECRET, ADMIN_PASSWORD…) from process.env, set before either starts.
    applyTestApiEnvDefaults();
    const portB = await freeLoopbackPort();
    const [a, b] = await Promise.allSettled([
      createTestApi(env),
      startProcess('api', {
        env: { ...env, PORT: String(portB), NODE_ENV: 'test', SWAGGER_ENABLED: 'false' },
        readyPattern: /api listening on port/,
        readyTimeoutMs: 120_000,
      }),
    ]);
    if (a.status === 'fulfilled') parts.apiA = a.value;
    if (b.status === 'fulfilled') parts.apiB = { process: b.value, baseUrl: `http://127.0.0.1:${portB}` };
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    const apiA = a.value;
    parts.admin = await adminToken(apiA);
    // Events published before an instance has subscribed never reach it (and are rightly not counted as
    // lost there): the worker must not publish before both instances listen.
    await untilReceivingLiveEvents(
      [apiA.baseUrl, `http://127.0.0.1:${portB}`],
      parts.admin,
      options.queuePrefix,
    );
    parts.worker = await startProcess('worker', {
      env: { ...env, NODE_ENV: 'test' },
      readyPattern: /worker ready/,
      readyTimeoutMs: 120_000,
    });

    const code = `RT-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
    const area = await request(apiA.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${parts.admin}`)
      .send({ name: `Realtime ${code}`, code })
      .expect(201);
    parts.areaId = area.body.data.id as string;
    parts.idOf = new Map();
    return { ...(parts as RealtimeStack), env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Registers the simulated meters in one statement (registration is not what these suites test) with the
 * address each answers on, status `online`: the polling ticks pick them up from PostgreSQL.
 */
export async function registerSimulatedMeters(stack: RealtimeStack): Promise<string[]> {
  const m = stack.sim.meters;
  const { rows } = await stack.db.query<{ id: string; meter_number: string }>(
    `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
     select n, 'three-phase', 'simulated', 'SIM-1', $4, ip, port, 'online'
     from unnest($1::text[], $2::text[], $3::int[]) as t(n, ip, port)
     returning id, meter_number`,
    [m.map((e) => e.meterNumber), m.map((e) => e.ipAddress), m.map((e) => e.port), stack.areaId],
  );
  for (const r of rows) stack.idOf.set(r.meter_number, r.id);
  return rows.map((r) => r.id);
}

/** A started stack with its simulated meters registered (startRealtimeStackWithMeters). */
export interface RealtimeStackWithMeters {
  stack: RealtimeStack;
  /** The registered meters' ids, in the simulator's order. */
  meterIds: string[];
  /** The meter number of a registered meter's id. */
  numberOf(id: string): string;
}

/** startRealtimeStack, then registerSimulatedMeters: what the realtime suites set up in beforeAll. */
export async function startRealtimeStackWithMeters(
  options: RealtimeStackOptions,
): Promise<RealtimeStackWithMeters> {
  const stack = await startRealtimeStack(options);
  try {
    const meterIds = await registerSimulatedMeters(stack);
    const numbers = new Map([...stack.idOf].map(([n, id]) => [id, n]));
    return { stack, meterIds, numberOf: (id) => numbers.get(id)! };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** For afterAll: retires the stack's meters (when any were registered) and stops the stack. */
export async function stopRealtimeStack(
  stack: RealtimeStack | undefined,
  meterIds?: string[],
): Promise<void> {
  try {
    if (stack && meterIds?.length) await retireMeters(stack.db, meterIds);
  } finally {
    // Even when the database is gone: an api or worker left running would load every later suite.
    await stack?.stop();
  }
}

/**
 * Resolves once every api instance reads the live-event stream of `queuePrefix` (an instance starts
 * reading at the stream's end, so what was appended before it started never reaches it): a probe entry
 * for a room no client can join, without a publisher number (never counted as an event), is appended until
 * each instance has read past it.
 */
export async function untilReceivingLiveEvents(
  baseUrls: readonly string[],
  token: string,
  queuePrefix: string,
  timeoutMs = 30_000,
): Promise<void> {
  const redisUrl = process.env.REDIS_URL!;
  const { stream } = realtimeRedisNames(queuePrefix, redisUrl);
  const probe = realtimeEntryFields(encodeRealtimeEntry('readiness-probe', 'probe', null, ['hes-probe']));
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const id = (await redis.xadd(stream, '*', ...probe))!;
      await new Promise((r) => setTimeout(r, 100));
      const now = await Promise.all(baseUrls.map((u) => realtimeStats(u, token)));
      const readPast = (s: RealtimeStats) =>
        s.streamOffset !== null && compareStreamIds(s.streamOffset, id) >= 0;
      if (now.every(readPast)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `api instances not reading live events after ${timeoutMs} ms: ${JSON.stringify(now)}`,
        );
      }
    }
  } finally {
    redis.disconnect();
  }
}

/** The entries of `queuePrefix`'s live-event stream from `from` (an entry id or epoch ms) on, as fields. */
export async function streamEntries(
  queuePrefix: string,
  from: string | number = '-',
): Promise<Record<string, string>[]> {
  const redisUrl = process.env.REDIS_URL!;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    const entries = await redis.xrange(realtimeRedisNames(queuePrefix, redisUrl).stream, from, '+');
    return entries.map(([, flat]) => realtimeEntryFromFields(flat));
  } finally {
    redis.disconnect();
  }
}

/** A publisher like a worker's, for suites and benchmarks that publish events themselves. */
export async function startTestPublisher(queuePrefix: string): Promise<MeterEventsPublisher> {
  const env = Object.assign(new CommonEnv(), {
    REDIS_URL: process.env.REDIS_URL!,
    QUEUE_PREFIX: queuePrefix,
  });
  const publisher = new MeterEventsPublisher(env);
  await publisher.onModuleInit();
  return publisher;
}

/** GET /api/realtime/stats of an api instance. */
export async function realtimeStats(baseUrl: string, token: string): Promise<RealtimeStats> {
  const res = await request(baseUrl).get('/api/realtime/stats').set('Authorization', `Bearer ${token}`);
  if (res.status !== 200) throw new Error(`realtime stats: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Soft-deletes meters so later suites sharing the database do not poll them. */
export async function retireMeters(db: Client, meterIds: string[]): Promise<void> {
  if (meterIds.length)
    await db.query('update meters set deleted_at = now() where id = any($1::uuid[])', [meterIds]);
}
