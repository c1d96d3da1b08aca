/**
 * In-process api for end-to-end tests (real PostgreSQL and Redis from the jest globalSetup):
 *
 *   const api = await createTestApi();            // AppModule + configureApp, listening on 127.0.0.1:<random>
 *   await request(api.server).get('/api/meters').set('Authorization', `Bearer ${await loginAs(api, 'viewer')}`);
 *   io(api.baseUrl, { auth: { token } });           // Socket.IO clients connect to baseUrl
 *   await api.close();
 *
 * - createTestApi(env?): test defaults (TEST_API_ENV_DEFAULTS, applyTestApiEnvDefaults) fill in unset process.env variables; `env`
 *   overrides apply to this app only (a fresh ConfigService validated from process.env + env; `KEY: ''`
 *   makes KEY unset for this app).
 * - loginAs(api, role): a token for the shared test user of that role (`test-<role>`, created once through
 *   the real users API as admin; 'admin' is the boot-time ADMIN_USERNAME user). Tokens are cached per api.
 * - adminToken(api) = loginAs(api, 'admin'); createUser(api, role, opts?) makes a fresh user and logs it in.
 */
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import request from 'supertest';

export type TestRole = 'admin' | 'operator' | 'viewer';

export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';
export const TEST_ADMIN_PASSWORD = 'test-admin-password';
const TEST_USER_PASSWORD = 'test-user-password';

/** Applied to process.env when unset, before AppModule is first loaded (its config is validated then). */
export const TEST_API_ENV_DEFAULTS: Record<string, string> = {
  NODE_ENV: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  JWT_EXPIRES_IN: '1h',
  ADMIN_USERNAME: 'admin',
  ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
  METER_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',
  // Simulated meters listen on ephemeral ports; suites about METER_ALLOWED_PORTS set their own list.
  METER_ALLOWED_PORTS: '80,8080,1024-65535',
  METER_HOST: '127.0.0.1',
  METER_PORT: '8080',
  LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
  LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000',
  SWAGGER_ENABLED: 'true',
  // Several test apis run in one process: the meters' push listener only where a test asks for it.
  PUSH_PORT: '0',
};

export interface TestApi {
  app: NestExpressApplication;
  /** The listening http.Server, for supertest: `request(api.server)`. */
  server: Server;
  /** `http://127.0.0.1:<port>`, for Socket.IO and other real clients. */
  baseUrl: string;
  /** The effective configuration values this app was started with (defaults + env overrides). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * TEST_API_ENV_DEFAULTS into process.env where unset: what createTestApi does first, and what a suite does
 * before starting an api child process beside it (children inherit process.env) so that both share them.
 */
export function applyTestApiEnvDefaults(): void {
  for (const [key, value] of Object.entries(TEST_API_ENV_DEFAULTS)) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
}

export async function createTestApi(overrides: Record<string, string> = {}): Promise<TestApi> {
  // pino-http would log every request of every suite: errors only, unless asked.
  const env: Record<string, string> = {
    LOG_LEVEL: process.env.TEST_API_VERBOSE ? 'debug' : 'error',
    ...overrides,
  };
  applyTestApiEnvDefaults();
  // Loaded lazily: AppModule validates the environment when it is first imported.
  const [{ Test }, { ConfigService }, { ApiEnv, CommonEnv, validateEnv }, { AppModule }, { configureApp }] =
    await Promise.all([
      import('@nestjs/testing'),
      import('@nestjs/config'),
      import('@app/config'),
      import('../../../apps/api/src/app.module'),
      import('../../../apps/api/src/bootstrap'),
    ]);
  const effective = { ...(process.env as Record<string, string>), ...env };
  let builder = Test.createTestingModule({ imports: [AppModule] });
  if (Object.keys(env).length > 0) {
    const validated = validateEnv(ApiEnv)(effective);
    // `KEY: ''` in env means "unset for this app", even when process.env has a value for it.
    const unset = new Set(Object.keys(env).filter((key) => env[key] === ''));
    class TestConfigService extends ConfigService {
      override get(path: never, ...rest: never[]): never {
        if (unset.has(path)) {
          const fallback = rest[0] as unknown;
          return (
            fallback && typeof fallback === 'object' && 'infer' in fallback ? undefined : fallback
          ) as never;
        }
        return (super.get as (...args: unknown[]) => never)(path, ...rest);
      }
    }
    // The typed settings too: services inject ApiEnv / CommonEnv rather than read ConfigService.
    builder = builder
      .overrideProvider(ConfigService)
      .useValue(new TestConfigService(validated))
      .overrideProvider(ApiEnv)
      .useValue(validated)
      .overrideProvider(CommonEnv)
      .useValue(validated);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: process.env.TEST_API_VERBOSE ? ['log', 'error', 'warn', 'debug'] : ['error', 'warn'],
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const { port } = server.address() as AddressInfo;
  const api: TestApi = {
    app,
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    env: effective,
    close: () => (app as INestApplication).close(),
  };
  return api;
}

const tokenCache = new WeakMap<TestApi, Map<string, string>>();

async function login(api: TestApi, username: string, password: string): Promise<string> {
  const res = await request(api.server).post('/api/auth/login').send({ username, password });
  if (res.status !== 200) {
    throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body.data.token as string;
}

/** A token for the boot-time admin (ADMIN_USERNAME / ADMIN_PASSWORD of this api). */
export function adminToken(api: TestApi): Promise<string> {
  return loginAs(api, 'admin');
}

/** A token for the shared test user of `role` (created through POST /api/users the first time). */
export async function loginAs(api: TestApi, role: TestRole): Promise<string> {
  let cache = tokenCache.get(api);
  if (!cache) tokenCache.set(api, (cache = new Map()));
  const cached = cache.get(role);
  if (cached) return cached;
  let token: string;
  if (role === 'admin') {
    token = await login(api, api.env.ADMIN_USERNAME, api.env.ADMIN_PASSWORD);
  } else {
    const username = `test-${role}`;
    const res = await request(api.server)
      .post('/api/users')
      .set('Authorization', `Bearer ${await adminToken(api)}`)
      .send({ username, password: TEST_USER_PASSWORD, role });
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`creating ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    token = await login(api, username, TEST_USER_PASSWORD);
  }
  cache.set(role, token);
  return token;
}

export interface CreatedTestUser {
  id: string;
  username: string;
  password: string;
  role: TestRole;
  token: string;
}

/** A fresh user (unique name) of `role`, created by the admin and logged in. */
export async function createUser(
  api: TestApi,
  role: TestRole,
  opts: { username?: string; password?: string } = {},
): Promise<CreatedTestUser> {
  const username = opts.username ?? `u-${role}-${randomBytes(4).toString('hex')}`;
  const password = opts.password ?? `pw-${randomBytes(8).toString('hex')}`;
  const res = await request(api.server)
    .post('/api/users')
    .set('Authorization', `Bearer ${await adminToken(api)}`)
    .send({ username, password, role });
  if (res.status !== 201)
    throw new Error(`creating ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.data.id, username, password, role, token: await login(api, username, password) };
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A separate, migrated database on the test PostgreSQL server, for tests that need an empty registry (e.g.
 * "no admin yet") or that break the database on purpose. Pass `{ DATABASE_URL: db.url }` to createTestApi.
 */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const base = process.env.HES_BASE_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!base) throw new Error('no DATABASE_URL: run under the jest globalSetup');
  const { Client } = await import('pg');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { migrate } = require('../../../scripts/lib/migrate') as { migrate(url: string): Promise<void> };
  const name = `hes_scratch_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: base });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}
