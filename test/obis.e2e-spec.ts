/**
 * OBIS catalog: seeded into PostgreSQL at api start-up from the code's catalog (idempotently), readable
 * by every role through GET /api/obis and GET /api/obis/:code in any spelling.
 */
import { createTestApi, loginAs, type TestApi } from '@app/testing';
import { DEFAULT_OBIS_CODES, OBIS_CATALOG } from '@app/obis';
import { Client } from 'pg';
import request from 'supertest';

describe('OBIS catalog (e2e)', () => {
  let api: TestApi;
  let viewer: string;
  let db: Client;

  beforeAll(async () => {
    api = await createTestApi();
    viewer = await loginAs(api, 'viewer');
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  const get = (path: string, token = viewer) =>
    request(api.server).get(path).set('Authorization', `Bearer ${token}`);

  it('seeds obis_catalog with every catalog code, the 17 defaults flagged and the writable codes RW', async () => {
    const { rows } = await db.query<{ code: string; access: string; is_default: boolean; name: string }>(
      'select code, access, is_default, name from obis_catalog order by code',
    );
    expect(rows.map((r) => r.code).sort()).toEqual(OBIS_CATALOG.map((d) => d.code).sort());
    expect(
      rows
        .filter((r) => r.is_default)
        .map((r) => r.code)
        .sort(),
    ).toEqual([...DEFAULT_OBIS_CODES].sort());
    expect(
      rows
        .filter((r) => r.access === 'RW')
        .map((r) => r.code)
        .sort(),
    ).toEqual(['0-0:1.0.0.255', '0-0:17.0.0.255', '0-0:96.3.10.255'].sort());
  });

  it('start-up seeding is idempotent and repairs drifted rows (a second api instance)', async () => {
    await db.query(`update obis_catalog set name = 'tampered' where code = '1-0:32.7.0.255'`);
    const second = await createTestApi();
    await second.close();
    const { rows } = await db.query<{ n: number; name: string }>(
      `select count(*)::int as n, max(name) filter (where code = '1-0:32.7.0.255') as name from obis_catalog`,
    );
    expect(rows[0]).toEqual({ n: OBIS_CATALOG.length, name: 'Voltage L1' });
  });

  it('GET /api/obis lists the catalog for any authenticated role, defaults first', async () => {
    const res = await get('/api/obis').expect(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data).toHaveLength(OBIS_CATALOG.length);
    expect(res.body.data.slice(0, 17).every((d: { isDefault: boolean }) => d.isDefault)).toBe(true);
    const voltage = res.body.data.find((d: { code: string }) => d.code === '1-0:32.7.0.255');
    expect(voltage).toEqual({
      code: '1-0:32.7.0.255',
      name: 'Voltage L1',
      unit: 'V',
      defaultScaler: -1,
      classId: 3,
      attribute: 2,
      access: 'R',
      valueType: 'number',
      isDefault: true,
      description: expect.any(String),
    });
  });

  it('filters by access and default', async () => {
    const rw = await get('/api/obis?access=RW').expect(200);
    expect(rw.body.data.map((d: { code: string }) => d.code).sort()).toEqual(
      ['0-0:1.0.0.255', '0-0:17.0.0.255', '0-0:96.3.10.255'].sort(),
    );
    const disconnect = rw.body.data.find((d: { code: string }) => d.code === '0-0:96.3.10.255');
    expect(disconnect.enumValues).toEqual(['disconnected', 'connected', 'ready_for_reconnection']);

    const defaults = await get('/api/obis?default=true').expect(200);
    expect(defaults.body.data.map((d: { code: string }) => d.code).sort()).toEqual(
      [...DEFAULT_OBIS_CODES].sort(),
    );

    const writableDefaults = await get('/api/obis?access=rw&default=true').expect(200);
    expect(writableDefaults.body.data.map((d: { code: string }) => d.code)).toEqual(['0-0:1.0.0.255']);
  });

  it('rejects bad filters with 400 in the envelope', async () => {
    for (const query of ['access=X', 'default=maybe', 'unknown=1']) {
      const res = await get(`/api/obis?${query}`).expect(400);
      expect(res.body).toMatchObject({ success: false, error: 'Bad Request', message: expect.any(String) });
    }
  });

  it.each([
    ['1-0:1.8.0.255'],
    ['1.8.0'],
    ['1.0.1.8.0.255'],
    ['0100010800FF'],
    ['1-0:1.8.0'],
    [encodeURIComponent('1-0:1.8.0.255')],
  ])('GET /api/obis/%s answers the canonical entry', async (spelling) => {
    const res = await get(`/api/obis/${spelling}`).expect(200);
    expect(res.body.data).toMatchObject({ code: '1-0:1.8.0.255', name: 'Active Energy Import', unit: 'Wh' });
  });

  it('unknown code → 404, malformed code → 400, no token → 401', async () => {
    const unknown = await get('/api/obis/1-0:99.99.0.255').expect(404);
    expect(unknown.body).toMatchObject({ success: false, error: 'Not Found' });
    expect(unknown.body.message).toContain('1-0:99.99.0.255');

    const malformed = await get('/api/obis/not-a-code').expect(400);
    expect(malformed.body).toMatchObject({ success: false, error: 'Bad Request' });

    await request(api.server).get('/api/obis').expect(401);
    await request(api.server).get('/api/obis/1.8.0').expect(401);
  });
});
