/**
 * Issue 10, audit trail: every state-changing request leaves one append-only audit_log entry (actor,
 * action, target, before/after summary without secrets, outcome, request id, source address), readable by
 * admins through GET /api/audit with filters and bounded pagination. Real PostgreSQL.
 */
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import request from 'supertest';
import { adminToken, createTestApi, createUser, TestApi } from '@app/testing';

const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

interface Entry {
  id: number;
  at: string;
  actorType: string;
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  statusCode: number;
  changes: Record<string, unknown> | null;
  requestId: string | null;
  sourceAddress: string | null;
}

describe('audit trail', () => {
  let api: TestApi;
  let admin: string;
  let adminId: string;
  let pool: Pool;
  let suiteStartedAt: Date;

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const audit = async (
    query: string,
  ): Promise<{ data: Entry[]; pagination: { nextBefore: number | null } }> => {
    const res = await request(api.server).get(`/api/audit?${query}`).set(auth(admin)).expect(200);
    return res.body;
  };
  const lastFor = async (query: string): Promise<Entry> => {
    const { data } = await audit(`${query}&limit=1`);
    expect(data).toHaveLength(1);
    return data[0];
  };

  beforeAll(async () => {
    api = await createTestApi();
    pool = api.app.get<Pool>(PG_POOL);
    suiteStartedAt = (await pool.query<{ now: Date }>('select now()')).rows[0].now;
    admin = await adminToken(api);
    adminId = (await request(api.server).get('/api/auth/me').set(auth(admin))).body.data.id;
  });
  afterAll(async () => {
    await pool
      ?.query('update meters set deleted_at = now() where deleted_at is null and created_at >= $1', [
        suiteStartedAt,
      ])
      .catch(() => undefined);
    await api?.close();
  });

  it('records creates, updates (changed fields before and after) and deletes, with request id and source address', async () => {
    const code = `AU-${uniq()}`.toUpperCase().slice(0, 20);
    const area = await request(api.server)
      .post('/api/areas')
      .set(auth(admin))
      .set('X-Request-Id', `req-${code}`)
      .send({ name: `audit ${code}`, code })
      .expect(201);
    expect(area.headers['x-request-id']).toBe(`req-${code}`);
    const created = await lastFor(`target=${area.body.data.id}`);
    expect(created).toMatchObject({
      actorType: 'user',
      actorId: adminId,
      actorName: 'admin',
      action: 'area.create',
      targetType: 'area',
      outcome: 'success',
      statusCode: 201,
      requestId: `req-${code}`,
    });
    expect(created.sourceAddress).toMatch(/127\.0\.0\.1/);
    expect(created.changes).toMatchObject({ request: { code }, result: { id: area.body.data.id } });

    const meter = await request(api.server)
      .post('/api/meters')
      .set(auth(admin))
      .send({
        meterNumber: `AU-${uniq()}`.toUpperCase(),
        meterType: 'single-phase',
        brand: 'b',
        model: 'm',
        area: code,
      })
      .expect(201);
    const meterId = meter.body.data.id as string;
    const patched = await request(api.server)
      .patch(`/api/meters/${meterId}`)
      .set(auth(admin))
      .send({ status: 'faulty', firmware: 'v2' })
      .expect(200);
    expect(patched.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const update = await lastFor(`target=${meterId}&action=meter.update`);
    expect(update.changes).toEqual({
      before: { status: 'online', firmware: null },
      after: { status: 'faulty', firmware: 'v2' },
    });
    expect(update.requestId).toBe(patched.headers['x-request-id']);

    await request(api.server).delete(`/api/meters/${meterId}`).set(auth(admin)).expect(200);
    const removed = await lastFor(`target=${meterId}&action=meter.remove`);
    expect(removed.changes).toMatchObject({ before: { id: meterId, status: 'faulty' } });

    // Every entry of that meter, by the meter.* prefix, newest first.
    const { data } = await audit(`target=${meterId}&action=meter.`);
    expect(data.map((e) => e.action)).toEqual(['meter.remove', 'meter.update', 'meter.create']);
  });

  it('keeps no secret: passwords, API keys and tokens are redacted', async () => {
    const user = await createUser(api, 'viewer', { password: 'secret-password-123' });
    const key = await request(api.server)
      .post('/api/api-keys')
      .set(auth(admin))
      .send({ name: `audit ${uniq()}`, role: 'viewer' })
      .expect(201);
    await request(api.server).delete(`/api/api-keys/${key.body.data.id}`).set(auth(admin)).expect(200);
    const rows = await pool.query<{ changes: unknown }>('select changes from audit_log where at >= $1', [
      suiteStartedAt,
    ]);
    const all = JSON.stringify(rows.rows);
    expect(all).not.toContain('secret-password-123');
    expect(all).not.toContain(key.body.data.key);
    expect(all).not.toContain(user.token);
    expect(await lastFor(`target=${key.body.data.id}&action=api-key.revoke`)).toMatchObject({
      outcome: 'success',
      changes: { before: { revokedAt: null }, after: { revokedAt: expect.any(String) } },
    });
  });

  it('records logins (also failed ones, by the name tried), logouts, refused and failed changes', async () => {
    const user = await createUser(api, 'operator');
    await request(api.server)
      .post('/api/auth/login')
      .send({ username: user.username, password: 'wrong-password' })
      .expect(401);
    const failed = await lastFor(`actor=${user.username}&action=session.login`);
    expect(failed).toMatchObject({ actorType: 'anonymous', outcome: 'refused', statusCode: 401 });
    expect(JSON.stringify(failed.changes)).not.toContain('wrong-password');

    await request(api.server).post('/api/auth/logout').set(auth(user.token)).expect(200);
    expect(await lastFor(`actor=${user.id}&action=session.logout`)).toMatchObject({
      actorType: 'user',
      actorName: user.username,
      outcome: 'success',
    });

    const other = await createUser(api, 'operator');
    const missing = '00000000-0000-4000-8000-000000000000';
    await request(api.server)
      .patch(`/api/meters/${missing}`)
      .set(auth(other.token))
      .send({ brand: 'x' })
      .expect(404);
    expect(await lastFor(`actor=${other.id}&action=meter.update`)).toMatchObject({
      targetId: missing,
      outcome: 'refused',
      statusCode: 404,
      changes: { request: { brand: 'x' } },
    });
  });

  it('lists with filters and bounded keyset pagination, for admins only', async () => {
    const first = await audit('limit=2');
    expect(first.data).toHaveLength(2);
    expect(first.pagination.nextBefore).toBe(first.data[1].id);
    const second = await audit(`limit=2&before=${first.pagination.nextBefore}`);
    expect(second.data[0].id).toBeLessThan(first.data[1].id);

    const future = await audit(`from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.data).toEqual([]);
    const since = await audit(`from=${encodeURIComponent(suiteStartedAt.toISOString())}&limit=100`);
    expect(since.data.every((e) => Date.parse(e.at) >= suiteStartedAt.getTime())).toBe(true);

    for (const bad of ['limit=1000', 'from=yesterday', 'before=-1', 'action=DROP%20TABLE']) {
      expect((await request(api.server).get(`/api/audit?${bad}`).set(auth(admin))).status).toBe(400);
    }
    const operator = await createUser(api, 'operator');
    expect((await request(api.server).get('/api/audit').set(auth(operator.token))).status).toBe(403);
  });

  it('is append-only: the table refuses UPDATE and DELETE', async () => {
    await expect(pool.query(`update audit_log set actor_name = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(pool.query('delete from audit_log')).rejects.toThrow(/append-only/);
  });
});
