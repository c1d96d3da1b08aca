import { PG_POOL } from '@app/database';
import { Pool } from 'pg';
import request from 'supertest';
import { adminToken, createTestApi, loginAs, TestApi } from '@app/testing';

describe('areas', () => {
  let api: TestApi;
  let tokens: Record<'admin' | 'operator' | 'viewer', string>;
  let suiteStartedAt: Date;

  beforeAll(async () => {
    api = await createTestApi();
    suiteStartedAt = (await api.app.get<Pool>(PG_POOL).query<{ now: Date }>('select now()')).rows[0].now;
    tokens = {
      admin: await adminToken(api),
      operator: await loginAs(api, 'operator'),
      viewer: await loginAs(api, 'viewer'),
    };
  });
  afterAll(async () => {
    // Suites run one at a time on one database: retire what this one registered, so that later suites'
    // workers find none of it to poll.
    await api?.app
      .get<Pool>(PG_POOL)
      .query('update meters set deleted_at = now() where deleted_at is null and created_at >= $1', [
        suiteStartedAt,
      ]);
    await api?.close();
  });

  const as = (role: keyof typeof tokens) => {
    const auth = { Authorization: `Bearer ${tokens[role]}` };
    return {
      get: (url: string) => request(api.server).get(url).set(auth),
      post: (url: string, body: object) => request(api.server).post(url).set(auth).send(body),
      patch: (url: string, body: object) => request(api.server).patch(url).set(auth).send(body),
      delete: (url: string) => request(api.server).delete(url).set(auth),
    };
  };
  const uid = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const newArea = async (role: keyof typeof tokens = 'admin') => {
    const id = uid();
    const res = await as(role).post('/api/areas', {
      name: `Area ${id}`,
      code: `AR-${id}`,
      description: 'test area',
    });
    expect(res.status).toBe(201);
    return res.body.data as { id: string; name: string; code: string };
  };
  const newMeter = async (area: string) => {
    const res = await as('admin').post('/api/meters', {
      meterNumber: `M-${uid()}`,
      meterType: 'single-phase',
      brand: 'hexing',
      model: 'HXE-1',
      area,
    });
    expect(res.status).toBe(201);
    return res.body.data as { id: string };
  };

  it('lets every role read, operators and admins write, and only admins delete', async () => {
    const area = await newArea('operator');
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      expect((await as(role).get('/api/areas')).status).toBe(200);
      expect((await as(role).get(`/api/areas/${area.id}`)).status).toBe(200);
    }
    const viewerCreate = await as('viewer').post('/api/areas', { name: `V ${uid()}`, code: `V-${uid()}` });
    expect(viewerCreate.status).toBe(403);
    expect((await as('viewer').patch(`/api/areas/${area.id}`, { description: 'x' })).status).toBe(403);
    expect((await as('viewer').delete(`/api/areas/${area.id}`)).status).toBe(403);
    expect((await as('operator').patch(`/api/areas/${area.id}`, { description: 'by operator' })).status).toBe(
      200,
    );
    expect((await as('operator').delete(`/api/areas/${area.id}`)).status).toBe(403);
    expect((await as('admin').delete(`/api/areas/${area.id}`)).status).toBe(200);
    expect((await request(api.server).get('/api/areas')).status).toBe(401);
  });

  it('creates, reads by id or code, lists and updates', async () => {
    const id = uid();
    const created = await as('admin').post('/api/areas', { name: `  Downtown ${id} `, code: `DT-${id}` });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      success: true,
      data: { name: `Downtown ${id}`, code: `DT-${id}`, description: null, meterCount: 0 },
    });
    const byCode = await as('viewer').get(`/api/areas/DT-${id}`);
    expect(byCode.body.data.id).toBe(created.body.data.id);
    const list = await as('viewer').get('/api/areas?limit=100');
    expect(list.body.pagination.total).toBeGreaterThanOrEqual(1);
    const updated = await as('operator').patch(`/api/areas/${created.body.data.id}`, {
      name: `Uptown ${id}`,
      description: 'north side',
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({
      name: `Uptown ${id}`,
      code: `DT-${id}`,
      description: 'north side',
    });
    await newMeter(created.body.data.id);
    expect((await as('viewer').get(`/api/areas/${created.body.data.id}`)).body.data.meterCount).toBe(1);
  });

  it('answers 409 for a duplicate name or code, on create and on update', async () => {
    const a = await newArea();
    const b = await newArea();
    const dupName = await as('admin').post('/api/areas', { name: a.name, code: `X-${uid()}` });
    expect(dupName.status).toBe(409);
    expect(dupName.body).toEqual({
      success: false,
      message: `An area named "${a.name}" already exists`,
      error: 'Conflict',
    });
    const dupCode = await as('admin').post('/api/areas', { name: `Other ${uid()}`, code: a.code });
    expect(dupCode.status).toBe(409);
    expect(dupCode.body.message).toBe(`An area with code "${a.code}" already exists`);
    expect((await as('admin').patch(`/api/areas/${b.id}`, { code: a.code })).status).toBe(409);
    expect((await as('admin').patch(`/api/areas/${b.id}`, { name: a.name })).status).toBe(409);
  });

  it.each([
    [{ name: '', code: 'OK-1' }, /name must be longer than or equal to 1/],
    [{ name: 'x'.repeat(101), code: 'OK-2' }, /name must be shorter than or equal to 100/],
    [{ name: 'Fine', code: 'has space' }, /code must be 1-32 letters/],
    [{ name: 'Fine', code: 'x'.repeat(33) }, /code must be 1-32 letters/],
    [{ name: 'Fine' }, /code must be 1-32 letters/],
    [{ name: 'Fine', code: 'OK-3', meters: [] }, /property meters should not exist/],
  ])('refuses an invalid area %j with 400', async (body, message) => {
    const res = await as('admin').post('/api/areas', body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
  });

  it('answers 404 for unknown or malformed references', async () => {
    expect((await as('viewer').get('/api/areas/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await as('viewer').get('/api/areas/NO-SUCH-CODE')).status).toBe(404);
    expect((await as('viewer').get('/api/areas/bad%20code%21')).status).toBe(404);
    expect((await as('admin').patch('/api/areas/NO-SUCH-CODE', { description: 'x' })).status).toBe(404);
    expect((await as('admin').delete('/api/areas/NO-SUCH-CODE')).status).toBe(404);
  });

  it('refuses to delete an area that still has meters (live or soft-deleted)', async () => {
    const area = await newArea();
    const meter = await newMeter(area.id);
    const busy = await as('admin').delete(`/api/areas/${area.id}`);
    expect(busy.status).toBe(409);
    expect(busy.body).toEqual({
      success: false,
      message: `Area "${area.code}" has 1 meter(s); move or delete them first`,
      error: 'Conflict',
    });
    await as('admin').delete(`/api/meters/${meter.id}`).expect(200);
    const history = await as('admin').delete(`/api/areas/${area.id}`);
    expect(history.status).toBe(409);
    expect(history.body.message).toMatch(/deleted meter\(s\) kept for their reading history/);
    const stillThere = await api.app.get<Pool>(PG_POOL).query('select 1 from areas where id = $1', [area.id]);
    expect(stillThere.rowCount).toBe(1);
  });

  it('deletes an unused area', async () => {
    const area = await newArea();
    const res = await as('admin').delete(`/api/areas/${area.code}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: 'Area deleted', data: { id: area.id } });
    expect((await as('viewer').get(`/api/areas/${area.id}`)).status).toBe(404);
  });
});
