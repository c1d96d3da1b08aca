/**
 * Shared set-up of the polling end-to-end suites: env for api and workers with a short interval, meters
 * registered through the real api, worker processes, and polling loops over PostgreSQL.
 */
import { startProcess, StartedProcess, type TestApi } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';
import type { ManifestEntry } from '../apps/simulator/src';

export const LOOPBACK_NETWORKS = '127.0.0.0/8';

/** Env shared by the api and the workers of a polling suite (own BullMQ prefix, short interval). */
export function pollingEnv(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    QUEUE_PREFIX: prefix,
    METER_POLLING_INTERVAL: '2000',
    METER_TIMEOUT_MS: '1000',
    METER_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    METER_OFFLINE_AFTER_FAILURES: '1',
    METER_OFFLINE_BACKOFF_MAX_MS: '4000',
    METER_MAX_CONCURRENT_POLLS: '50',
    // A dead worker's batches and meter locks are taken over within 1.5 s: well inside these short intervals.
    POLL_JOB_LOCK_MS: '1000',
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
