/**
 * Logs as an operator's log shipper sees them: the real api and worker processes write JSON lines, with a
 * request id (the caller's X-Request-Id, returned) and a job id on lines logged from a job, and none of the
 * secrets this scenario used appears in any line.
 */
import {
  freeLoopbackPort,
  startProcess,
  TEST_ADMIN_PASSWORD,
  TEST_JWT_SECRET,
  type StartedProcess,
} from '@app/testing';
import { startSimulator, type RunningSimulator } from '../apps/simulator/src';
import { connectDb, pollingEnv, retireMeters, waitFor } from './polling-helpers';

jest.setTimeout(180_000);

const METRICS_TOKEN = 'logs-metrics-token-5f3a9c0e1d';
const USER_PASSWORD = 'user-password-7c1e4b9a2f';
const WRONG_PASSWORD = 'wrong-password-0b8d6e2c4a';
const QUERY_TOKEN = 'query-token-3e9f1a7b5c';
/** Looks like an API key (prefix and length) but is none: refused, and still a secret in the logs. */
const UNKNOWN_KEY = 'hes_unknownKeyForTheLogsSuite0123456789abcdefgh';
const REQUEST_ID = 'ops-logs-request-42';

type LogLine = Record<string, unknown> & { msg?: string; level?: string; app?: string; jobId?: string };

describe('operations: JSON logs with request and job ids, and no secrets (real api and worker)', () => {
  let sim: RunningSimulator;
  let api: StartedProcess;
  let worker: StartedProcess;
  let baseUrl: string;
  const secrets = new Map<string, string>();
  const meterIds: string[] = [];

  const call = async (method: string, url: string, token?: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as { data?: Record<string, unknown> }) : undefined,
    };
  };

  beforeAll(async () => {
    const port = await freeLoopbackPort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...pollingEnv('hes-ops-logs'),
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      METRICS_TOKEN,
    };
    sim = await startSimulator({ meters: 3, seed: 23, prefix: 'OPL', log: () => undefined });
    const workerPort = await freeLoopbackPort();
    [api, worker] = await Promise.all([
      startProcess('api', {
        env: { ...env, PORT: String(port) },
        readyPattern: /api listening on port/,
        readyTimeoutMs: 120_000,
      }),
      startProcess('worker', {
        env: { ...env, WORKER_HTTP_PORT: String(workerPort) },
        readyPattern: /worker ready/,
        readyTimeoutMs: 120_000,
      }),
    ]);
    secrets.set('admin password', TEST_ADMIN_PASSWORD);
    secrets.set('JWT secret', TEST_JWT_SECRET);
    secrets.set('metrics token', METRICS_TOKEN);
    secrets.set('user password', USER_PASSWORD);
    secrets.set('wrong password', WRONG_PASSWORD);
    secrets.set('token query parameter', QUERY_TOKEN);
    secrets.set('unknown API key', UNKNOWN_KEY);
    const dbPassword = new URL(process.env.DATABASE_URL!).password;
    if (dbPassword) secrets.set('database password', decodeURIComponent(dbPassword));

    // The scenario: logins (good and bad), a user created with a password, tokens in headers and in a
    // query string, meters polled and read on demand (jobs), metrics scraped with their token.
    expect(
      (await call('POST', '/api/auth/login', undefined, { username: 'admin', password: WRONG_PASSWORD }))
        .status,
    ).toBe(401);
    const login = await call('POST', '/api/auth/login', undefined, {
      username: 'admin',
      password: TEST_ADMIN_PASSWORD,
    });
    expect(login.status).toBe(200);
    const token = login.body!.data!.token as string;
    secrets.set('admin JWT', token);
    const user = await call('POST', '/api/users', token, {
      username: `logs-${Date.now().toString(36)}`,
      password: USER_PASSWORD,
      role: 'viewer',
    });
    expect(user.status).toBe(201);
    // An API key (a secret too), used in both headers; an unknown one refused; a Bull Board session cookie.
    const created = await call('POST', '/api/api-keys', token, { name: 'logs-suite', role: 'viewer' });
    expect(created.status).toBe(201);
    const apiKey = created.body!.data!.key as string;
    secrets.set('API key', apiKey);
    expect((await call('GET', '/api/areas', undefined, undefined, { 'X-API-Key': apiKey })).status).toBe(200);
    expect((await call('GET', '/api/areas', apiKey)).status).toBe(200);
    expect((await call('GET', '/api/areas', undefined, undefined, { 'X-API-Key': UNKNOWN_KEY })).status).toBe(
      401,
    );
    const board = await call('POST', '/api/auth/board-session', token);
    expect(board.status).toBe(200);
    const cookie = board.headers.get('set-cookie')!.split(';')[0];
    secrets.set('Bull Board session', cookie.split('=')[1]);
    expect((await fetch(`${baseUrl}/admin/queues`, { headers: { Cookie: cookie } })).status).toBe(200);
    // Refused (no such filter), but logged with its URL: the value must not be.
    expect((await call('GET', `/api/meters?token=${QUERY_TOKEN}`, token)).status).toBe(400);
    const code = `OPL-${Date.now().toString(36)}`;
    expect((await call('POST', '/api/areas', token, { name: `Logs ${code}`, code })).status).toBe(201);
    const gateway = new URL(sim.gatewayUrl);
    for (const m of sim.meters) {
      const created = await call('POST', '/api/meters', token, {
        meterNumber: m.meterNumber,
        meterType: 'three-phase',
        brand: 'sim',
        model: 'SIM-1',
        area: code,
        status: 'online',
        ipAddress: gateway.hostname,
        port: Number(gateway.port),
      });
      expect(created.status).toBe(201);
      meterIds.push(created.body!.data!.id as string);
    }
    const read = await call(
      'POST',
      `/api/meters/${meterIds[0]}/read-obis`,
      token,
      {},
      { 'X-Request-Id': REQUEST_ID },
    );
    expect(read.status).toBe(200);
    expect(read.headers.get('x-request-id')).toBe(REQUEST_ID);
    for (const url of [`${baseUrl}/metrics`, `http://127.0.0.1:${workerPort}/metrics`]) {
      expect((await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    }
    await waitFor(
      'a poll batch logged by the worker',
      async () => /batch of tick/.test(worker.output()),
      30_000,
    );
    // Shutdown lines too.
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  afterAll(async () => {
    await api?.stop('SIGKILL');
    await worker?.stop('SIGKILL');
    await sim?.stop();
    const db = await connectDb();
    await retireMeters(db, meterIds);
    await db.end();
  });

  const lines = (p: StartedProcess) =>
    p
      .output()
      .split('\n')
      .filter((l) => l.trim());
  const parsed = (p: StartedProcess) => lines(p).map((l) => JSON.parse(l) as LogLine);

  it('every line of both processes is a JSON object with level, time, app and message', () => {
    for (const [p, app] of [
      [api, 'api'],
      [worker, 'worker'],
    ] as const) {
      const all = lines(p);
      expect(all.length).toBeGreaterThan(10);
      const notJson = all.filter((l) => {
        try {
          const o = JSON.parse(l) as LogLine;
          return !(o.app === app && typeof o.level === 'string' && typeof o.time === 'number' && 'msg' in o);
        } catch {
          return true;
        }
      });
      expect(notJson).toEqual([]);
    }
    expect(parsed(api).some((l) => l.msg === 'stopped cleanly' || /stopped cleanly/.test(l.msg ?? ''))).toBe(
      true,
    );
  });

  it('a request logs the id the caller sent, and lines from a job carry the job id', () => {
    const request = parsed(api).find((l) => (l.req as { id?: string } | undefined)?.id === REQUEST_ID);
    expect(request).toMatchObject({ msg: 'request completed', res: { statusCode: 200 } });
    const fromJobs = parsed(worker).filter((l) => /^batch of tick|command .* started$/.test(l.msg ?? ''));
    expect(fromJobs.some((l) => /batch of tick/.test(l.msg!))).toBe(true);
    expect(fromJobs.some((l) => /read command/.test(l.msg!))).toBe(true);
    for (const line of fromJobs)
      expect(line).toMatchObject({ jobId: expect.any(String), job: expect.any(String) });
    // Lines outside jobs have none.
    expect(parsed(worker).find((l) => l.msg === 'worker ready')?.jobId).toBeUndefined();
  });

  it("the audit entry of a request carries the request id of that request's log lines", async () => {
    const logged = parsed(api).find((l) => (l.req as { id?: string } | undefined)?.id === REQUEST_ID);
    expect(logged).toBeDefined();
    const db = await connectDb();
    try {
      // This run's meter: the append-only trail keeps the entries of earlier runs with the same id.
      const { rows } = await db.query<{ action: string; outcome: string }>(
        'select action, outcome from audit_log where request_id = $1 and target_id = $2',
        [REQUEST_ID, meterIds[0]],
      );
      expect(rows).toEqual([{ action: 'meter.readObis', outcome: 'success' }]);
    } finally {
      await db.end();
    }
  });

  it('no secret of the scenario appears in any log line; credentials show as [Redacted]', () => {
    const all = [...lines(api), ...lines(worker)];
    for (const [what, secret] of secrets) {
      expect({ what, lines: all.filter((l) => l.includes(secret)) }).toEqual({ what, lines: [] });
    }
    const redacted = parsed(api).filter((l) => JSON.stringify(l).includes('[Redacted]'));
    expect(redacted.some((l) => (l.req as { url?: string }).url === '/api/meters?token=[Redacted]')).toBe(
      true,
    );
    expect(
      redacted.some(
        (l) => (l.req as { headers?: Record<string, string> }).headers?.authorization === '[Redacted]',
      ),
    ).toBe(true);
    expect(
      redacted.some(
        (l) => (l.req as { headers?: Record<string, string> }).headers?.['x-api-key'] === '[Redacted]',
      ),
    ).toBe(true);
  });
});
