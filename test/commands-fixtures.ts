/**
 * Shared set-up of the command and readings suites: an in-process api, a real worker process and an
 * in-process simulator, plus helpers to register simulated meters through the real api.
 */
import { PG_POOL } from '@app/database';
import { createTestApi, loginAs, startProcess, type StartedProcess, type TestApi } from '@app/testing';
import type { Pool } from 'pg';
import request from 'supertest';
import { startSimulator } from '../apps/simulator/src';
import type { ManifestEntry, RunningSimulator, SimulatorOptions } from '../apps/simulator/src';

export interface CommandStack {
  api: TestApi;
  worker: StartedProcess;
  sim: RunningSimulator;
  tokens: { admin: string; operator: string; viewer: string };
  areaId: string;
  stop(): Promise<void>;
}

/** Settings shared by the api and the worker of a suite (both must agree on METER_TIMEOUT_MS). */
export function stackEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    METER_TIMEOUT_MS: '1500',
    // Long enough that scheduled polls rarely touch the suite's meters; suites that need polling override it
    // together with QUEUE_PREFIX, since the interval in force is stored per prefix (the first api seeds it).
    QUEUE_PREFIX: 'hes-commands',
    METER_POLLING_INTERVAL: '3600000',
    METER_ALLOWED_NETWORKS: '127.0.0.0/8',
    METER_ALLOWED_PORTS: '1024-65535',
    ...overrides,
  };
}

export async function startCommandStack(
  simOptions: SimulatorOptions,
  env: Record<string, string> = stackEnv(),
  workerEnv: Record<string, string> = {},
): Promise<CommandStack> {
  // Suites share one database per jest run: a prefix of their own keeps meter numbers unique.
  const prefix = `S${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const sim = await startSimulator({ log: () => undefined, prefix, ...simOptions });
  let worker: StartedProcess | undefined;
  let api: TestApi | undefined;
  try {
    [worker, api] = await Promise.all([
      startProcess('worker', {
        env: { ...env, ...workerEnv },
        readyPattern: /worker ready/,
        readyTimeoutMs: 90_000,
      }),
      createTestApi(env),
    ]);
    const [admin, operator, viewer] = [
      await loginAs(api, 'admin'),
      await loginAs(api, 'operator'),
      await loginAs(api, 'viewer'),
    ];
    const code = `CMD-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
    const area = await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: `Area ${code}`, code })
      .expect(201);
    const areaId: string = area.body.data.id;
    const started = { api, worker, sim, areaId };
    return {
      ...started,
      tokens: { admin, operator, viewer },
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll({ api, worker, sim });
    throw err;
  }
}

async function stopAll(parts: {
  api?: TestApi;
  worker?: StartedProcess;
  sim?: RunningSimulator;
  areaId?: string;
}): Promise<void> {
  // Later suites share the database: their workers must find none of this suite's meters to poll.
  if (parts.api && parts.areaId) {
    await parts.api.app
      .get<Pool>(PG_POOL)
      .query('update meters set deleted_at = now() where area_id = $1 and deleted_at is null', [parts.areaId])
      .catch(() => undefined);
  }
  await parts.api?.close().catch(() => undefined);
  await parts.worker?.stop().catch(() => undefined);
  await parts.sim?.stop().catch(() => undefined);
}

export interface RegisteredMeter {
  id: string;
  meterNumber: string;
  entry: ManifestEntry;
}

/** Registers a simulated meter through POST /api/meters (status online unless said otherwise). */
export async function registerMeter(
  stack: CommandStack,
  entry: ManifestEntry,
  extra: { status?: string; obisCodes?: string[] } = {},
): Promise<RegisteredMeter> {
  const res = await request(stack.api.server)
    .post('/api/meters')
    .set('Authorization', `Bearer ${stack.tokens.admin}`)
    .send({
      meterNumber: entry.meterNumber,
      meterType: 'three-phase',
      brand: 'simulated',
      model: 'SIM-1',
      area: stack.areaId,
      ipAddress: entry.ipAddress,
      port: entry.port,
      status: extra.status ?? 'online',
      ...(extra.obisCodes ? { obisCodes: extra.obisCodes } : {}),
    });
  if (res.status !== 201)
    throw new Error(`registering ${entry.meterNumber}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.data.id, meterNumber: entry.meterNumber, entry };
}
