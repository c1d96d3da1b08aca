/**
 * The api's OpenAPI document (/api/docs-json) as its clients use it: every operation describes its
 * success body and the error envelope of each status it answers, `redocly lint` (recommended-strict,
 * redocly.yaml) finds no problem, and the committed docs/openapi.json (what the console's types are
 * generated from) is the document the api serves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createTestApi, REPO_ROOT, type TestApi } from '@app/testing';
import { OPENAPI_FILE, serializeOpenApi } from '../apps/api/src/openapi-export';

type Schema = { $ref?: string; type?: string; properties?: Record<string, Schema> };
interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: { 'application/json'?: { schema?: Schema } } }>;
}
type OpenApiDocument = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

const ERROR_REF = '#/components/schemas/ApiErrorDto';
/** Public probes that take no input: they answer 200 or 503, never a 4xx. */
const HEALTH_PATHS = ['/api/health', '/api/health/live', '/api/health/ready'];

describe('OpenAPI document', () => {
  let api: TestApi;
  let served: OpenApiDocument;
  let operations: { name: string; path: string; op: Operation }[];

  beforeAll(async () => {
    api = await createTestApi();
    const res = await request(api.server).get('/api/docs-json');
    expect(res.status).toBe(200);
    served = res.body as OpenApiDocument;
    operations = Object.entries(served.paths).flatMap(([p, item]) =>
      Object.entries(item).map(([method, op]) => ({ name: `${method.toUpperCase()} ${p}`, path: p, op })),
    );
  });

  afterAll(async () => {
    await api?.close();
  });

  it('describes the success body of every operation, inside the { success: true, data } envelope', () => {
    expect(operations.length).toBeGreaterThanOrEqual(31);
    const missing = operations.filter(({ op }) => {
      const ok = Object.entries(op.responses).find(([status]) => /^2\d\d$/.test(status));
      const schema = ok?.[1].content?.['application/json']?.schema;
      return !schema?.properties?.success || !schema.properties.data;
    });
    expect(missing.map((o) => o.name)).toEqual([]);
  });

  it('describes the error envelope for each error status, with 401 on every authenticated operation', () => {
    const problems: string[] = [];
    for (const { name, path: p, op } of operations) {
      const errors = Object.entries(op.responses).filter(([status]) => /^[45]\d\d$/.test(status));
      for (const [status, response] of errors) {
        if (response.content?.['application/json']?.schema?.$ref !== ERROR_REF)
          problems.push(`${name} ${status}: not the error envelope`);
      }
      const statuses = errors.map(([s]) => s);
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (!isPublic && !statuses.includes('401')) problems.push(`${name}: no 401`);
      if (!HEALTH_PATHS.includes(p) && !statuses.some((s) => s.startsWith('4')))
        problems.push(`${name}: no 4xx`);
    }
    expect(problems).toEqual([]);
    const login = served.paths['/api/auth/login'].post;
    expect(login.security).toEqual([]);
    expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '429']));
    expect(Object.keys(served.paths['/api/users'].post.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '409', '503']),
    );
    // An API key opens what a token opens, in either header: both schemes are offered on each operation.
    expect(served.components.securitySchemes['api-key']).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: expect.any(String),
    });
    for (const { name, op } of operations.filter((o) => o.op.security?.length)) {
      expect({ name, security: op.security }).toEqual({
        name,
        security: [{ bearer: [] }, { 'api-key': [] }],
      });
    }
  });

  it('passes redocly lint with the recommended rules, warnings included (redocly.yaml)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hes-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(served));
      const lint = spawnSync(
        path.join(REPO_ROOT, 'node_modules', '.bin', 'redocly'),
        ['lint', file, '--config', path.join(REPO_ROOT, 'redocly.yaml'), '--format=json'],
        {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      );
      const report = JSON.parse(lint.stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string }[];
      };
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
      expect(lint.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is what docs/openapi.json holds (run `npm run openapi` after changing the api)', () => {
    const committed = readFileSync(OPENAPI_FILE, 'utf8');
    expect(committed).toBe(serializeOpenApi(served));
  });
});
