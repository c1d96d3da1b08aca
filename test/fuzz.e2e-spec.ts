/**
 * Fuzz suite: generated bad requests over every endpoint of the OpenAPI document (so a new endpoint is
 * fuzzed without touching this file), against a scratch database. What must hold for each request:
 * - never a 5xx;
 * - a refused request (4xx) changes nothing: every table's checksum and both queues' job counts are the
 *   same before and after it.
 * The generator is seeded (FUZZ_SEED, default 20261130): the same requests in the same order every run.
 * The figures (requests, by status class) are printed at the end for the release notes.
 */
import { QUEUES } from '@app/contracts';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Client } from 'pg';
import request from 'supertest';
import {
  adminToken,
  createScratchDatabase,
  createTestApi,
  loginAs,
  ScratchDatabase,
  TestApi,
} from '@app/testing';
import { freePort } from './push-helpers';

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const MIN_REQUESTS = 1000;
const READ_CONCURRENCY = 8;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HUGE = 'A'.repeat(100_000);
/** Values no field of ours should take in the wrong place: types, sizes, unicode, injections. */
const NASTY_VALUES: unknown[] = [
  12345,
  -1,
  1.5,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 31,
  true,
  false,
  {},
  [],
  [1, 'two', null],
  { $gt: '' },
  { __proto__: { isAdmin: true } },
  '',
  ' ',
  'not-a-number',
  HUGE,
  'é'.repeat(20_000),
  '𝕳𝖊𝖑𝖑𝖔 ｗｏｒｌｄ',
  '\u202Eevil\u202C',
  'null\u0000byte',
  '😀'.repeat(300),
  "' OR 1=1 --",
  "'; DROP TABLE meters; --",
  '1; SELECT pg_sleep(10)',
  '{{7*7}}${7*7}',
  '<img src=x onerror=alert(1)>',
  '../../../../etc/passwd',
  '__proto__',
  '%s%s%s%n',
  '2026-02-30T25:61:00Z',
  '0x7f.1',
  '::ffff:7f00:1',
];

/** Invalid ids for path parameters (percent-encoded when sent). */
const BAD_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  "1' OR '1'='1",
  '..%2F..%2Fetc%2Fpasswd',
  '💥💥💥',
  'x'.repeat(3000),
  '-1',
  '1e309',
  'null',
  '<script>alert(1)</script>',
  '%00',
  'ÄÖÜ-ß',
  '0-0:96.3.10.255;DROP',
];

const BAD_QUERY_VALUES = [
  'abc',
  '-1',
  '0',
  '1e400',
  '99999999999999999999',
  "' OR 1=1 --",
  '💥',
  'x'.repeat(5000),
  '',
  '2026-13-45',
  '[object Object]',
  'nul\u0000byte',
];

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodySchema?: { properties: Record<string, unknown>; required: string[] };
  /** Needs authentication (every route but login and health), and a role other than viewer. */
  isPublic: boolean;
}

interface FuzzCase {
  op: Operation;
  url: string;
  token: string | null;
  body?: { raw: string; contentType: string } | { json: unknown };
  label: string;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}
interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  security?: unknown[];
}

function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const ref = op.requestBody?.content['application/json']?.schema.$ref;
      const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
      ops.push({
        method: method as Operation['method'],
        path,
        pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        bodySchema: schema
          ? { properties: schema.properties ?? {}, required: schema.required ?? [] }
          : undefined,
        isPublic: path === '/api/auth/login' || path.startsWith('/api/health'),
      });
    }
  }
  return ops;
}

/**
 * Rows a refused request is meant to write: the record of a refused command (status 'rejected', shown in
 * the meter's command history) and the audit trail's record of a refused attempt (its status_code is the
 * refusal's), kept on purpose. Everything else must stay byte for byte the same: an audit row claiming
 * success for a refused request would count as a change.
 */
const RECORDS_OF_REFUSALS: Record<string, string> = {
  'public.meter_commands': "x.status <> 'rejected'",
  'public.audit_log': 'x.status_code < 400',
};

/**
 * Routes that end the caller's session when accepted (a stray body is fine on them): fuzzed last, so the
 * tokens the other cases use stay valid.
 */
const SESSION_ENDING = new Set(['/api/auth/logout']);

const MUTATING = new Set(['post', 'put', 'patch', 'delete']);

describe('fuzz: generated bad requests over every endpoint', () => {
  let db: ScratchDatabase;
  let api: TestApi;
  let pg: Client;
  let queues: Queue[];
  let snapshotSql: string;
  /** The push listener (PUSH_PORT): the meters' routes (/push/...) are served there only. */
  let pushUrl: string;
  const existing: Record<string, string> = {};

  beforeAll(async () => {
    db = await createScratchDatabase();
    const pushPort = await freePort();
    pushUrl = `http://127.0.0.1:${pushPort}`;
    api = await createTestApi({
      PUSH_PORT: String(pushPort),
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `hes-fuzz-${Date.now()}`,
      // An accepted command must not hold the suite: no worker runs here.
      METER_TIMEOUT_MS: '300',
      // The seed ingestion route on, so that it is fuzzed rather than answering 404 as switched off.
      METER_INGESTION_KEY: 'fuzz-ingestion-key-0123456789abcdef',
    });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    queues = Object.values(QUEUES).map((name) => api.app.get<Queue>(getQueueToken(name), { strict: false }));
    const { rows } = await pg.query<{ name: string }>(
      `select format('%I.%I', schemaname, tablename) as name from pg_tables
        where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
    );
    snapshotSql = rows
      .map(
        ({ name }) =>
          `select '${name}' as t, count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h ` +
          `from ${name} x where ${RECORDS_OF_REFUSALS[name] ?? 'true'}`,
      )
      .join(' union all ');

    // Entities of this database for the requests that need a real id to reach their body's validation.
    const admin = await adminToken(api);
    const post = (url: string, body: object) =>
      request(api.server).post(url).set('Authorization', `Bearer ${admin}`).send(body).expect(201);
    const area = await post('/api/areas', { name: 'Fuzz area', code: 'FUZZ-1' });
    existing['/api/areas/{id}'] = area.body.data.id;
    const meter = await post('/api/meters', {
      meterNumber: 'FUZZ-0001',
      meterType: 'single-phase',
      brand: 'fuzz',
      model: 'F1',
      area: area.body.data.id,
      // Not commandable: an accidentally valid command answers 409 at once.
      status: 'warehouse',
    });
    existing['/api/meters/{id}'] = meter.body.data.id;
    const user = await post('/api/users', {
      username: 'fuzz-user',
      password: 'fuzz-password',
      role: 'viewer',
    });
    existing['/api/users/{id}'] = user.body.data.id;
    // A live key: the refused DELETEs on it (no token, viewer) must leave it unrevoked.
    const key = await post('/api/api-keys', { name: 'fuzz-key', role: 'viewer' });
    existing['/api/api-keys/{id}'] = key.body.data.id;
    existing['/api/obis/{code}'] = '1-0:1.8.0.255';
  });

  afterAll(async () => {
    await pg?.end();
    await api?.close();
    await db?.drop();
  });

  async function snapshot(): Promise<string> {
    const { rows } = await pg.query<{ t: string; n: number; h: string }>(snapshotSql);
    const counts = await Promise.all(queues.map((q) => q.getJobCounts()));
    return JSON.stringify({ rows, counts });
  }

  function generate(ops: Operation[], admin: string, viewer: string): FuzzCase[] {
    const random = prng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const cases: FuzzCase[] = [];
    const realId = (op: Operation) =>
      existing[Object.keys(existing).find((prefix) => op.path.startsWith(prefix)) ?? ''] ?? 'not-a-uuid';
    const urlOf = (op: Operation, id: string, query = '') =>
      op.path.replace(/\{[^}]+\}/g, encodeURIComponent(id)) + query;

    for (const op of ops) {
      const add = (label: string, c: Omit<FuzzCase, 'op' | 'label'>) => cases.push({ op, label, ...c });
      const id = realId(op);
      const url = urlOf(op, id);
      if (!op.isPublic) {
        add('no token', { url, token: null });
        add('forged token', { url, token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
        if (MUTATING.has(op.method)) add('viewer on a mutating route', { url, token: viewer });
      }
      for (const bad of op.pathParams.length ? BAD_IDS : []) {
        add(`bad id ${bad.slice(0, 20)}`, { url: urlOf(op, bad), token: admin, body: { json: {} } });
      }
      // A DELETE on the real entity would succeed whatever the query says: query variants use a bad id there.
      const queryId = op.method === 'delete' ? 'not-a-uuid' : id;
      for (const name of [...op.queryParams, 'unexpected']) {
        for (let i = 0; i < 5; i++) {
          const value = pick(BAD_QUERY_VALUES);
          add(`query ${name}=${value.slice(0, 20)}`, {
            url: urlOf(op, queryId, `?${name}=${encodeURIComponent(value)}`),
            token: admin,
          });
        }
        add(`query ${name} twice`, { url: urlOf(op, queryId, `?${name}=1&${name}=2`), token: admin });
      }
      if (op.method === 'delete' || op.method === 'get' || !op.bodySchema) {
        // A stray body on a route without one, against a bad id for DELETE (a real one would be deleted).
        const target = op.method === 'delete' && op.pathParams.length ? urlOf(op, pick(BAD_IDS)) : url;
        add('stray body', { url: target, token: admin, body: { json: { junk: pick(NASTY_VALUES) } } });
        continue;
      }
      const properties = Object.keys(op.bodySchema?.properties ?? {});
      const required = op.bodySchema?.required ?? [];
      if (required.length) add('missing required fields', { url, token: admin, body: { json: {} } });
      for (const property of properties) {
        for (let i = 0; i < 6; i++) {
          add(`field ${property}`, { url, token: admin, body: { json: { [property]: pick(NASTY_VALUES) } } });
        }
      }
      for (const extra of [
        'isAdmin',
        'role',
        'id',
        'createdAt',
        '__proto__',
        'constructor',
        'password_hash',
      ]) {
        add(`extra field ${extra}`, {
          url,
          token: admin,
          body: {
            raw: `{"${extra}": ${JSON.stringify(pick(NASTY_VALUES))}}`,
            contentType: 'application/json',
          },
        });
      }
      const raw = (label: string, text: string, contentType = 'application/json') =>
        add(label, { url, token: admin, body: { raw: text, contentType } });
      raw('array body', '[1,2,3]');
      raw('string body', '"just a string"');
      raw('number body', '42');
      raw('null body', 'null');
      raw('malformed JSON', '{"a": ');
      raw('deeply nested JSON', `${'['.repeat(5000)}${']'.repeat(5000)}`);
      raw('oversized body', JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 100) }));
      raw('text/plain body', 'hello', 'text/plain');
      raw('urlencoded body', 'a[b][c][d][e][f]=1&__proto__[x]=1', 'application/x-www-form-urlencoded');
    }
    // Stable: the seeded order otherwise.
    return [
      ...cases.filter((c) => !SESSION_ENDING.has(c.op.path)),
      ...cases.filter((c) => SESSION_ENDING.has(c.op.path)),
    ];
  }

  it('fuzzes every route the api serves: each Nest route under /api is in the OpenAPI document', async () => {
    const doc = (await request(api.server).get('/api/docs-json').expect(200)).body as OpenApiDoc;
    const documented = new Set(
      operationsOf(doc).map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    // Express 5's public `app.router`: the routes Nest registered, whatever Swagger was told.
    const express = api.app.getHttpAdapter().getInstance() as {
      router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
    };
    const served = express.router.stack
      .flatMap(({ route }) =>
        route ? Object.keys(route.methods).map((m) => `${m.toUpperCase()} ${route.path}`) : [],
      )
      // A wildcard path is a middleware mount, not an endpoint: Nest registers route-scoped middleware (the
      // request logger's `{*path}`, for every method) as routes too. No controller here uses a wildcard.
      .filter((r) => / \/api\//.test(r) && !r.includes('/api/docs') && !r.includes('{*'));
    expect(served.length).toBeGreaterThan(20);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it(`answers ${MIN_REQUESTS}+ generated bad requests without a 5xx and without a change from a refused one`, async () => {
    const doc = (await request(api.server).get('/api/docs-json').expect(200)).body as OpenApiDoc;
    const ops = operationsOf(doc);
    const admin = await adminToken(api);
    const viewer = await loginAs(api, 'viewer');
    const cases = generate(ops, admin, viewer);
    expect(cases.length).toBeGreaterThanOrEqual(MIN_REQUESTS);

    const byClass: Record<string, number> = {};
    const serverErrors: string[] = [];
    const changedByRefused: string[] = [];
    const acceptedMutations: string[] = [];
    const send = async (c: FuzzCase): Promise<{ status: number; what: string }> => {
      let req = request(c.op.path.startsWith('/push/') ? pushUrl : api.server)[c.op.method](c.url);
      if (c.token) req = req.set('Authorization', `Bearer ${c.token}`);
      if (c.body && 'raw' in c.body) req = req.set('Content-Type', c.body.contentType).send(c.body.raw);
      else if (c.body) req = req.send(c.body.json as object);
      const res = await req;
      const statusClass = `${Math.floor(res.status / 100)}xx`;
      byClass[statusClass] = (byClass[statusClass] ?? 0) + 1;
      const what = `${c.op.method.toUpperCase()} ${c.op.path} (${c.label}) → ${res.status}`;
      if (res.status >= 500) serverErrors.push(`${what}: ${JSON.stringify(res.body).slice(0, 200)}`);
      if (res.status >= 400) expect(res.body).toMatchObject({ success: false, error: expect.any(String) });
      return { status: res.status, what };
    };

    // Reads, a few at a time: together they must change nothing at all.
    const reads = cases.filter((c) => !MUTATING.has(c.op.method));
    let before = await snapshot();
    for (let i = 0; i < reads.length; i += READ_CONCURRENCY) {
      await Promise.all(reads.slice(i, i + READ_CONCURRENCY).map(send));
    }
    expect(await snapshot()).toBe(before);

    // Writes one by one, each refused one checked on its own.
    let sessionsChecked = false;
    for (const c of cases.filter((c) => MUTATING.has(c.op.method))) {
      if (!sessionsChecked && SESSION_ENDING.has(c.op.path)) {
        // Up to here every case ran with live tokens: a refusal was the request's, not a dead session's.
        await request(api.server).get('/api/auth/me').set('Authorization', `Bearer ${admin}`).expect(200);
        await request(api.server).get('/api/auth/me').set('Authorization', `Bearer ${viewer}`).expect(200);
        sessionsChecked = true;
      }
      const { status, what } = await send(c);
      const after = await snapshot();
      if (status >= 400 && after !== before) changedByRefused.push(what);
      if (status < 400) acceptedMutations.push(what);
      before = after;
    }

    const routes = ops.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    console.log(
      `fuzz (seed ${SEED}): ${cases.length} requests over ${routes.length} endpoints; ` +
        Object.entries(byClass)
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') +
        `; accepted mutations (valid by chance, allowed): ${acceptedMutations.length}`,
    );
    // FUZZ_VERBOSE=1 lists the mutations that were valid by chance (e.g. a unicode brand on a real meter).
    if (process.env.FUZZ_VERBOSE) console.log(acceptedMutations.join('\n'));
    expect(serverErrors).toEqual([]);
    expect(changedByRefused).toEqual([]);
    // Every endpoint of the document was exercised.
    expect(new Set(cases.map((c) => `${c.op.method.toUpperCase()} ${c.op.path}`)).size).toBe(routes.length);
  }, 180_000);
});
