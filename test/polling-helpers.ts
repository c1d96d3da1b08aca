/**
 * Shared set-up of the polling end-to-end suites: env for api and workers with a short interval, meters
 * registered through the real api, worker processes, and polling loops over PostgreSQL.
 */
import { adminToken, createTestApi, startProcess, StartedProcess, type TestApi } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';
import {
  startSimulator,
  type ManifestEntry,
  type RunningSimulator,
  type SimulatorOptions,
} from '../apps/simulator/src';

export const LOOPBACK_NETWORKS = '127.0.0.0/8';

/** Env shared by the api and the workers of a polling suite (own BullMQ prefix, short interval). */
export function pollingEnv(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    QUEUE_PREFIX: prefix,
    METER_POLLING_INTERVAL: '2000',
    METER_TIMEOUT_MS: '1000',
    METER_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    METER_ALLOWED_PORTS: '1024-65535',
    METER_OFFLINE_AFTER_FAILURES: '1',
    METER_OFFLINE_BACKOFF_MAX_MS: '4000',
    METER_MAX_CONCURRENT_POLLS: '50',
    // A dead worker's batches and meter locks are taken over within 1.5 s: well inside these short intervals.
    POLL_JOB_LOCK_MS: '1000',
    // Scheduled load profile collection (which reads every online meter of the shared test database) fires
    // once a day, at 12:00 UTC, instead of every hour: out of the way of suites that count meter reads.
    PROFILE_READ_INTERVAL: '86400000',
    ...overrides,
  };
}

export async function startWorker(env: Record<string, string>): Promise<StartedProcess> {
  return startProcess('worker', {
    env: { ...env, NODE_ENV: 'test' },
    readyPattern: /worker ready/,
    readyTimeoutMs: 90_000,
  });
}

/** `count` worker processes, started together. */
export function startWorkers(env: Record<string, string>, count: number): Promise<StartedProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(env)));
}

export async function connectDb(): Promise<Client> {
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  return db;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates an area and one meter per manifest entry (status `active`: registered, not yet polled). */
export async function registerMeters(
  api: TestApi,
  token: string,
  areaCode: string,
  entries: readonly ManifestEntry[],
): Promise<Map<string, string>> {
  const area = await request(api.server)
    .post('/api/areas')
    .set('Authorization', `Bearer ${token}`)
    .send({ name: `Area ${areaCode}`, code: areaCode });
  if (area.status !== 201) throw new Error(`area: ${area.status} ${JSON.stringify(area.body)}`);
  const ids = new Map<string, string>();
  for (const e of entries) {
    const res = await request(api.server).post('/api/meters').set('Authorization', `Bearer ${token}`).send({
      meterNumber: e.meterNumber,
      meterType: 'three-phase',
      brand: 'sim',
      model: 'SIM-1',
      area: areaCode,
      status: 'active',
      ipAddress: e.ipAddress,
      port: e.port,
    });
    if (res.status !== 201)
      throw new Error(`meter ${e.meterNumber}: ${res.status} ${JSON.stringify(res.body)}`);
    ids.set(e.meterNumber, res.body.data.id as string);
  }
  return ids;
}

/** The simulator's meters registered by an admin (registerMeters): the token, and their ids by number. */
export async function registerSimulatorMeters(
  api: TestApi,
  areaCode: string,
  sim: Pick<RunningSimulator, 'meters'>,
): Promise<{ token: string; idByNumber: Map<string, string>; meterIds: string[] }> {
  const token = await adminToken(api);
  const idByNumber = await registerMeters(api, token, areaCode, sim.meters);
  return { token, idByNumber, meterIds: [...idByNumber.values()] };
}

/** What a polling suite's beforeAll starts: its database connection, simulator, api and registered meters. */
export interface PollingStack {
  db: Client;
  sim: RunningSimulator;
  api: TestApi;
  /** An admin's token. */
  token: string;
  idByNumber: Map<string, string>;
  meterIds: string[];
}

/**
 * Connects to the database, starts a simulator and an in-process api with `env`, and registers the
 * simulator's meters in area `areaCode` (status `active`: no worker polls them yet).
 */
export async function startPollingStack(
  env: Record<string, string>,
  simOptions: SimulatorOptions,
  areaCode: string,
): Promise<PollingStack> {
  const db = await connectDb();
  let sim: RunningSimulator | undefined;
  let api: TestApi | undefined;
  try {
    sim = await startSimulator(simOptions);
    api = await createTestApi(env);
    return { db, sim, api, ...(await registerSimulatorMeters(api, areaCode, sim)) };
  } catch (err) {
    await api?.close().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await db.end().catch(() => undefined);
    throw err;
  }
}

/** configureOnline for meters that answer behind the simulator's gateway. */
export async function configureOnlineAtGateway(
  api: TestApi,
  token: string,
  meterIds: string[],
  sim: Pick<RunningSimulator, 'gatewayUrl'>,
): Promise<void> {
  const gateway = new URL(sim.gatewayUrl);
  await configureOnline(api, token, meterIds, gateway.hostname, Number(gateway.port));
}

/** POST /api/meters/batch/configure-online for these meters (status online at ipAddress:port). */
export async function configureOnline(
  api: TestApi,
  token: string,
  meterIds: string[],
  ipAddress: string,
  port: number,
): Promise<void> {
  const res = await request(api.server)
    .post('/api/meters/batch/configure-online')
    .set('Authorization', `Bearer ${token}`)
    .send({ meterIds, ipAddress, port, status: 'online' });
  if (res.status !== 200) throw new Error(`configure-online: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Soft-deletes the suite's meters so later suites sharing the database do not poll them. */
export async function retireMeters(db: Client, meterIds: string[]): Promise<void> {
  if (meterIds.length)
    await db.query('UPDATE meters SET deleted_at = now() WHERE id = ANY($1::uuid[])', [meterIds]);
}
