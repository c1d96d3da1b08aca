import { PG_POOL } from '@app/database';
import { Pool } from 'pg';
import request from 'supertest';
import { adminToken, createTestApi, loginAs, TestApi } from '@app/testing';

type Role = 'admin' | 'operator' | 'viewer';

describe('meters registry', () => {
  let api: TestApi;
  let pool: Pool;
  let tokens: Record<Role, string>;
  let area: { id: string; name: string; code: string };
  let suiteStartedAt: Date;

  const uid = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const as = (role: Role) => {
    const auth = { Authorization: `Bearer ${tokens[role]}` };
    return {
      get: (url: string) => request(api.server).get(url).set(auth),
      post: (url: string, body?: object) => request(api.server).post(url).set(auth).send(body),
      patch: (url: string, body: object) => request(api.server).patch(url).set(auth).send(body),
      delete: (url: string) => request(api.server).delete(url).set(auth),
    };
  };
  const meterBody = (overrides: Record<string, unknown> = {}) => ({
    meterNumber: `MTR-${uid()}`,
    meterType: 'three-phase',
    brand: 'hexing',
    model: 'HEM-3X30',
    area: area.id,
    ...overrides,
  });
  const createMeter = async (overrides: Record<string, unknown> = {}) => {
    const res = await as('admin').post('/api/meters', meterBody(overrides));
    expect(res.status).toBe(201);
    return res.body.data;
  };
  const createArea = async () => {
    const id = uid();
    const res = await as('admin').post('/api/areas', { name: `Meters area ${id}`, code: `MA-${id}` });
    expect(res.status).toBe(201);
    return res.body.data;
  };

  beforeAll(async () => {
    api = await createTestApi();
    pool = api.app.get<Pool>(PG_POOL);
    suiteStartedAt = (await pool.query<{ now: Date }>('select now()')).rows[0].now;
    tokens = {
      admin: await adminToken(api),
      operator: await loginAs(api, 'operator'),
      viewer: await loginAs(api, 'viewer'),
    };
    area = await createArea();
  });
  afterAll(async () => {
    // Suites run one at a time on one database: retire what this one registered, so that later suites'
    // workers find none of it to poll.
    await pool?.query('update meters set deleted_at = now() where deleted_at is null and created_at >= $1', [
      suiteStartedAt,
    ]);
    await api?.close();
  });

  describe('POST /api/meters', () => {
    it('creates a meter ready for online monitoring (METER_HOST / METER_PORT / online by default)', async () => {
      const body = meterBody();
      const res = await as('operator').post('/api/meters', body);
      expect(res.status).toBe(201);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        meterNumber: body.meterNumber,
        meterType: 'three-phase',
        brand: 'hexing',
        model: 'HEM-3X30',
        area: { id: area.id, name: area.name, code: area.code },
        ipAddress: '127.0.0.1',
        port: 8080,
        status: 'online',
        firmware: null,
        obisCodes: null,
        lastSeen: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const { rows } = await pool.query(
        'select ip_address, port, status, deleted_at from meters where id = $1',
        [res.body.data.id],
      );
      expect(rows[0]).toEqual({ ip_address: '127.0.0.1', port: 8080, status: 'online', deleted_at: null });
    });

    it('accepts the area by code, an explicit address, status, firmware, and stores OBIS codes canonical without duplicates', async () => {
      const m = await createMeter({
        area: area.code,
        ipAddress: '10.20.30.40',
        port: 9001,
        status: 'warehouse',
        firmware: 'v1.2.3',
        obisCodes: [
          '1.0.1.8.0.255',
          '1-0:1.8.0.255',
          '1.8.0',
          '0100010800FF',
          '1-0:32.7.0',
          ' 1-0:31.7.0.255 ',
        ],
      });
      expect(m).toMatchObject({
        area: { id: area.id },
        ipAddress: '10.20.30.40',
        port: 9001,
        status: 'warehouse',
        firmware: 'v1.2.3',
        obisCodes: ['1-0:1.8.0.255', '1-0:32.7.0.255', '1-0:31.7.0.255'],
      });
      const { rows } = await pool.query('select obis_codes from meters where id = $1', [m.id]);
      expect(rows[0].obis_codes).toEqual(['1-0:1.8.0.255', '1-0:32.7.0.255', '1-0:31.7.0.255']);
    });

    it('accepts IPv6 addresses inside the allowed networks', async () => {
      expect((await createMeter({ ipAddress: '::1' })).ipAddress).toBe('::1');
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['ip not an IP', { ipAddress: 'meter.local' }, /ipAddress must be an IPv4 or IPv6 address/],
      ['ip with a port', { ipAddress: '10.0.0.1:80' }, /ipAddress must be an IPv4 or IPv6 address/],
      [
        'ip outside the allowed networks',
        { ipAddress: '8.8.8.8' },
        /address 8\.8\.8\.8 is outside METER_ALLOWED_NETWORKS/,
      ],
      ['port 0', { port: 0 }, /port must not be less than 1/],
      ['port 70000', { port: 70000 }, /port must not be greater than 65535/],
      ['port as a string', { port: '8080' }, /port must be an integer/],
      ['port fractional', { port: 80.5 }, /port must be an integer/],
      ['meterNumber too long', { meterNumber: 'M'.repeat(33) }, /meterNumber must be 1-32 letters/],
      ['meterNumber empty', { meterNumber: '' }, /meterNumber must be 1-32 letters/],
      ['meterNumber with a space', { meterNumber: 'MTR 001' }, /meterNumber must be 1-32 letters/],
      ['meterNumber with a slash', { meterNumber: 'MTR/001' }, /meterNumber must be 1-32 letters/],
      ['bad meterType', { meterType: 'four-phase' }, /meterType must be one of the following values/],
      ['bad status', { status: 'deleted' }, /status must be one of the following values/],
      [
        'bad OBIS code',
        { obisCodes: ['1-0:1.8.0.255', '1-0:1.8'] },
        /obisCodes must be OBIS codes .*invalid: "1-0:1\.8"/,
      ],
      ['OBIS value out of range', { obisCodes: ['1-0:1.8.0.256'] }, /obisCodes must be OBIS codes/],
      ['obisCodes not an array', { obisCodes: '1-0:1.8.0.255' }, /obisCodes must be an array/],
      [
        'too many OBIS codes',
        { obisCodes: Array.from({ length: 101 }, (_, i) => `1-0:1.8.${i}.255`) },
        /obisCodes must contain no more than 100 elements/,
      ],
      ['unknown field', { deletedAt: null }, /property deletedAt should not exist/],
      ['polling internals', { pollBucket: 1 }, /property pollBucket should not exist/],
      ['brand too long', { brand: 'b'.repeat(65) }, /brand must be shorter than or equal to 64/],
      ['missing model', { model: undefined }, /model must be longer than or equal to 1/],
      ['unknown area', { area: 'NO-SUCH-AREA' }, /area "NO-SUCH-AREA" does not exist/],
      ['firmware not a string', { firmware: 12 }, /firmware must be a string/],
    ])('refuses %s with 400 and stores nothing', async (_name, overrides, message) => {
      const body = meterBody(overrides);
      const res = await as('admin').post('/api/meters', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, error: 'Bad Request' });
      expect(res.body.message).toMatch(message);
      if (typeof body.meterNumber === 'string') {
        const { rowCount } = await pool.query('select 1 from meters where meter_number = $1', [
          body.meterNumber,
        ]);
        expect(rowCount).toBe(0);
      }
    });

    it('refuses a default METER_HOST outside the allowed networks', async () => {
      const strict = await createTestApi({ METER_ALLOWED_NETWORKS: '10.0.0.0/8', METER_HOST: '127.0.0.1' });
      try {
        const res = await request(strict.server)
          .post('/api/meters')
          .set('Authorization', `Bearer ${await adminToken(strict)}`)
          .send(meterBody());
        expect(res.status).toBe(400);
        expect(res.body.message).toBe(
          'address 127.0.0.1 is outside METER_ALLOWED_NETWORKS (10.0.0.0/8) (from the default METER_HOST)',
        );
      } finally {
        await strict.close();
      }
    });

    describe('meter addresses that reach the infrastructure (METER_ALLOWED_NETWORKS 10.0.0.0/8, ports 8080,80)', () => {
      let strict: TestApi;
      let strictToken: string;
      const post = (body: object) =>
        request(strict.server).post('/api/meters').set('Authorization', `Bearer ${strictToken}`).send(body);

      beforeAll(async () => {
        strict = await createTestApi({
          METER_ALLOWED_NETWORKS: '10.0.0.0/8',
          METER_ALLOWED_PORTS: '8080,80',
          METER_HOST: '10.0.0.1',
        });
        strictToken = await adminToken(strict);
      });
      afterAll(() => strict?.close());

      const storedCount = async (meterNumber: string) =>
        (await pool.query('select 1 from meters where meter_number = $1', [meterNumber])).rowCount;

      it.each(['0x7f.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1'])(
        'refuses the loopback spelling %p as not an IP address, storing nothing',
        async (ipAddress) => {
          const body = meterBody({ ipAddress });
          const res = await post(body);
          expect(res.status).toBe(400);
          expect(res.body.message).toMatch(/ipAddress must be an IPv4 or IPv6 address/);
          expect(await storedCount(body.meterNumber)).toBe(0);
        },
      );

      it.each(['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '127.0.0.1'])(
        'refuses the IPv4-mapped or plain loopback address %p, storing nothing',
        async (ipAddress) => {
          const body = meterBody({ ipAddress });
          const res = await post(body);
          expect(res.status).toBe(400);
          expect(res.body.message).toMatch(/is outside METER_ALLOWED_NETWORKS \(10\.0\.0\.0\/8\)/);
          expect(await storedCount(body.meterNumber)).toBe(0);
        },
      );

      it.each([5432, 6379, 5000, 22])('refuses port %p inside an allowed network', async (port) => {
        const body = meterBody({ ipAddress: '10.0.0.5', port });
        const res = await post(body);
        expect(res.status).toBe(400);
        expect(res.body.message).toBe(`port ${port} is not in METER_ALLOWED_PORTS (8080,80)`);
        expect(await storedCount(body.meterNumber)).toBe(0);
      });

      it('stores an IPv4-mapped address inside the networks as the IPv4 address it reaches', async () => {
        const res = await post(meterBody({ ipAddress: '::ffff:a00:7', port: 80 }));
        expect(res.status).toBe(201);
        expect(res.body.data).toMatchObject({ ipAddress: '10.0.0.7', port: 80 });
      });

      it('refuses an update that moves a meter to a database port, and leaves it unchanged', async () => {
        const created = await post(meterBody({ ipAddress: '10.0.0.8' }));
        expect(created.status).toBe(201);
        const res = await request(strict.server)
          .patch(`/api/meters/${created.body.data.id}`)
          .set('Authorization', `Bearer ${strictToken}`)
          .send({ port: 5432 });
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('port 5432 is not in METER_ALLOWED_PORTS (8080,80)');
        const { rows } = await pool.query('select port from meters where id = $1', [created.body.data.id]);
        expect(rows[0].port).toBe(8080);
      });
    });

    it('answers 409 for a duplicate meterNumber', async () => {
      const m = await createMeter();
      const res = await as('admin').post('/api/meters', meterBody({ meterNumber: m.meterNumber }));
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        success: false,
        message: `A meter with meterNumber "${m.meterNumber}" already exists`,
        error: 'Conflict',
      });
    });
  });

  describe('GET /api/meters/:id', () => {
    it('finds a meter by id and by meterNumber for every role', async () => {
      const m = await createMeter();
      for (const role of ['admin', 'operator', 'viewer'] as const) {
        expect((await as(role).get(`/api/meters/${m.id}`)).body.data).toEqual(m);
        expect((await as(role).get(`/api/meters/${m.meterNumber}`)).body.data).toEqual(m);
      }
      expect((await as('viewer').get(`/api/meters/${m.id.toUpperCase()}`)).body.data.id).toBe(m.id);
    });

    it('answers 404 (never 500) for unknown and malformed ids', async () => {
      for (const ref of [
        '00000000-0000-4000-8000-000000000000',
        'NO-SUCH-METER',
        'x'.repeat(60),
        'bad%20id%21',
        '%27%3B--',
      ]) {
        const res = await as('viewer').get(`/api/meters/${ref}`);
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ success: false, error: 'Not Found' });
      }
      expect((await request(api.server).get('/api/meters/whatever')).status).toBe(401);
    });

    it('does not let /:id capture the static batch routes', async () => {
      const res = await as('viewer').post('/api/meters/batch/enable-all-online');
      expect(res.status).toBe(403); // the batch route (admin only) answered, not a meter lookup
      expect((await as('viewer').get('/api/meters/batch')).status).toBe(404);
    });
  });

  describe('GET /api/meters', () => {
    let listArea: { id: string; code: string };
    let brand: string;
    beforeAll(async () => {
      listArea = await createArea();
      brand = `Brand${uid()}`;
      const created = [];
      for (let i = 0; i < 25; i++) {
        created.push(
          as('admin').post(
            '/api/meters',
            meterBody({
              meterNumber: `L${uid()}-${String(i).padStart(2, '0')}`,
              brand,
              model: i % 5 === 0 ? 'Special_Model%' : 'Plain',
              area: listArea.id,
              status: i < 5 ? 'offline' : 'online',
            }),
          ),
        );
      }
      for (const res of await Promise.all(created)) expect(res.status).toBe(201);
    });

    it('paginates with total, pages, page and limit (default limit 20)', async () => {
      const first = await as('viewer').get(`/api/meters?area=${listArea.id}`);
      expect(first.status).toBe(200);
      expect(first.body.success).toBe(true);
      expect(first.body.pagination).toEqual({
        total: 25,
        page: 1,
        pages: 2,
        limit: 20,
        totalExact: true,
        nextCursor: first.body.data[19].meterNumber,
      });
      expect(first.body.data).toHaveLength(20);
      const pages = [];
      for (let page = 1; page <= 3; page++) {
        pages.push((await as('viewer').get(`/api/meters?area=${listArea.id}&limit=10&page=${page}`)).body);
      }
      expect(pages.map((p) => p.data.length)).toEqual([10, 10, 5]);
      expect(pages[2].pagination).toEqual({
        total: 25,
        page: 3,
        pages: 3,
        limit: 10,
        totalExact: true,
        nextCursor: null,
      });
      const ids = pages.flatMap((p) => p.data.map((m: { id: string }) => m.id));
      expect(new Set(ids).size).toBe(25);
      const beyond = await as('viewer').get(`/api/meters?area=${listArea.id}&limit=10&page=4`);
      expect(beyond.body.data).toEqual([]);
      expect(beyond.body.pagination.total).toBe(25);
      const max = await as('viewer').get(`/api/meters?limit=100`);
      expect(max.status).toBe(200);
      expect(max.body.data.length).toBeLessThanOrEqual(100);
    });

    it('filters by status, area (id or code), brand (any case) and search', async () => {
      const offline = await as('viewer').get(`/api/meters?area=${listArea.code}&status=offline`);
      expect(offline.body.pagination.total).toBe(5);
      expect(offline.body.data.every((m: { status: string }) => m.status === 'offline')).toBe(true);
      const byBrand = await as('viewer').get(`/api/meters?brand=${brand.toUpperCase()}&limit=100`);
      expect(byBrand.body.pagination.total).toBe(25);
      const search = await as('viewer').get(
        `/api/meters?search=${encodeURIComponent('special_model%')}&brand=${brand}`,
      );
      expect(search.body.pagination.total).toBe(5);
      const literal = await as('viewer').get(
        `/api/meters?search=${encodeURIComponent('%')}&area=${listArea.id}`,
      );
      expect(literal.body.pagination.total).toBe(5); // % is a literal character, not a wildcard
      const byNumber = await as('viewer').get(`/api/meters?search=-07&area=${listArea.id}`);
      expect(byNumber.body.pagination.total).toBe(1);
      const byBrandSearch = await as('viewer').get(`/api/meters?search=${brand.slice(2).toLowerCase()}`);
      expect(byBrandSearch.body.pagination.total).toBe(25);
      const unknownArea = await as('viewer').get('/api/meters?area=NO-SUCH-AREA');
      expect(unknownArea.body).toEqual({
        success: true,
        data: [],
        pagination: { total: 0, page: 1, pages: 0, limit: 20, totalExact: true, nextCursor: null },
      });
    });

    it('continues after nextCursor (keyset): the same meters as the numbered pages, in order', async () => {
      const byOffset = await as('viewer').get(`/api/meters?area=${listArea.id}&limit=25`);
      const walked: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 5; i++) {
        const after: string = cursor ? `&cursor=${cursor}` : '';
        const res = await as('viewer').get(`/api/meters?area=${listArea.id}&limit=10${after}`);
        expect(res.status).toBe(200);
        walked.push(...res.body.data.map((m: { meterNumber: string }) => m.meterNumber));
        cursor = res.body.pagination.nextCursor;
        if (!cursor) break;
      }
      expect(cursor).toBeNull();
      expect(walked).toEqual(byOffset.body.data.map((m: { meterNumber: string }) => m.meterNumber));
      expect([...walked].sort()).toEqual(walked);
      // A meter added behind the cursor does not shift the pages still to come.
      const third = await as('viewer').get(`/api/meters?area=${listArea.id}&limit=10&cursor=${walked[19]}`);
      expect(third.body.data.map((m: { meterNumber: string }) => m.meterNumber)).toEqual(walked.slice(20));
    });

    it('counts exactly up to 1,000 matches and estimates beyond, saying which (totalExact)', async () => {
      const big = await createArea();
      await pool.query(
        `insert into meters (meter_number, meter_type, brand, model, area_id, status)
         select 'BIG' || $2 || '-' || lpad(i::text, 4, '0'), 'single-phase', 'bigbrand', 'B', $1,
                (case when i < 10 then 'offline' else 'warehouse' end)::meter_status
         from generate_series(0, 1099) as i`,
        [big.id, uid()],
      );
      await pool.query('analyze meters');
      const broad = await as('viewer').get(`/api/meters?area=${big.code}&limit=100`);
      expect(broad.status).toBe(200);
      expect(broad.body.data).toHaveLength(100);
      expect(broad.body.pagination.totalExact).toBe(false);
      expect(broad.body.pagination.total).toBeGreaterThan(1000);
      expect(broad.body.pagination.pages).toBe(Math.ceil(broad.body.pagination.total / 100));
      const narrow = await as('viewer').get(`/api/meters?area=${big.code}&status=offline`);
      expect(narrow.body.pagination).toMatchObject({ total: 10, totalExact: true, nextCursor: null });
    });

    it.each([
      ['limit=101', /limit must not be greater than 100/],
      ['limit=0', /limit must not be less than 1/],
      ['limit=abc', /limit must be an integer/],
      ['page=0', /page must not be less than 1/],
      ['page=1.5', /page must be an integer/],
      ['status=broken', /status must be one of the following values/],
      ['sort=brand', /property sort should not exist/],
      [`search=${'s'.repeat(65)}`, /search must be shorter than or equal to 64/],
      ['cursor=no%20such%20cursor', /cursor must be a nextCursor from a previous page/],
    ])('refuses ?%s with 400', async (query, message) => {
      const res = await as('viewer').get(`/api/meters?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    });
  });

  describe('PATCH /api/meters/:id', () => {
    it('updates the whitelisted fields (by id or meterNumber) for operators and admins', async () => {
      const other = await createArea();
      const m = await createMeter({ obisCodes: ['1.8.0'] });
      const res = await as('operator').patch(`/api/meters/${m.meterNumber}`, {
        meterType: 'prepaid',
        brand: 'landis',
        model: 'E450',
        area: other.code,
        ipAddress: '192.168.7.8',
        port: 8081,
        status: 'faulty',
        firmware: '2.0',
        obisCodes: ['1-0:32.7.0', '1-0:32.7.0.255'],
      });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({
        id: m.id,
        meterType: 'prepaid',
        brand: 'landis',
        model: 'E450',
        area: { id: other.id, code: other.code },
        ipAddress: '192.168.7.8',
        port: 8081,
        status: 'faulty',
        firmware: '2.0',
        obisCodes: ['1-0:32.7.0.255'],
      });
      expect(new Date(res.body.data.updatedAt).getTime()).toBeGreaterThan(new Date(m.updatedAt).getTime());
      const reset = await as('admin').patch(`/api/meters/${m.id}`, { obisCodes: null, firmware: null });
      expect(reset.body.data).toMatchObject({ obisCodes: null, firmware: null });
      const renamed = await as('admin').patch(`/api/meters/${m.id}`, { meterNumber: `${m.meterNumber}-R` });
      expect(renamed.body.data.meterNumber).toBe(`${m.meterNumber}-R`);
      expect((await as('viewer').get(`/api/meters/${m.meterNumber}-R`)).status).toBe(200);
    });

    it('clears the offline backoff when an operator changes the address or status', async () => {
      const m = await createMeter();
      await pool.query(
        `update meters set status = 'offline', consecutive_failures = 4, next_poll_at = now() + interval '10 minutes' where id = $1`,
        [m.id],
      );
      await as('operator')
        .patch(`/api/meters/${m.id}`, { ipAddress: '10.9.9.9', status: 'online' })
        .expect(200);
      const { rows } = await pool.query(
        'select consecutive_failures, next_poll_at, status from meters where id = $1',
        [m.id],
      );
      expect(rows[0]).toEqual({ consecutive_failures: 0, next_poll_at: null, status: 'online' });
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['ip not an IP', { ipAddress: '999.1.1.1' }, /ipAddress must be an IPv4 or IPv6 address/],
      ['ip null', { ipAddress: null }, /ipAddress must be an IPv4 or IPv6 address/],
      ['ip outside the allowed networks', { ipAddress: '1.1.1.1' }, /is outside METER_ALLOWED_NETWORKS/],
      ['port 0', { port: 0 }, /port must not be less than 1/],
      ['port null', { port: null }, /port must be an integer/],
      ['meterNumber bad chars', { meterNumber: 'a.b' }, /meterNumber must be 1-32 letters/],
      ['status null', { status: null }, /status must be one of/],
      ['bad meterType', { meterType: 'smart' }, /meterType must be one of/],
      ['bad OBIS code', { obisCodes: ['hello'] }, /obisCodes must be OBIS codes/],
      ['read-only field', { lastSeen: '2024-01-01T00:00:00Z' }, /property lastSeen should not exist/],
      ['id', { id: '00000000-0000-4000-8000-000000000000' }, /property id should not exist/],
      ['unknown area', { area: 'NOPE-NOPE' }, /area "NOPE-NOPE" does not exist/],
    ])('refuses %s with 400 and changes nothing', async (_name, body, message) => {
      const m = await createMeter();
      const res = await as('admin').patch(`/api/meters/${m.id}`, body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      expect((await as('viewer').get(`/api/meters/${m.id}`)).body.data).toEqual(m);
    });

    it('answers 409 when renaming onto an existing meterNumber and 404 for unknown meters', async () => {
      const a = await createMeter();
      const b = await createMeter();
      const res = await as('admin').patch(`/api/meters/${b.id}`, { meterNumber: a.meterNumber });
      expect(res.status).toBe(409);
      expect(res.body.message).toBe(`A meter with meterNumber "${a.meterNumber}" already exists`);
      expect((await as('admin').patch('/api/meters/NO-SUCH-METER', { brand: 'x' })).status).toBe(404);
    });
  });

  describe('DELETE /api/meters/:id (soft delete)', () => {
    it('hides the meter from GET and lists, keeps the row with deleted_at, and frees its meterNumber', async () => {
      const m = await createMeter({ brand: `Gone${uid()}` });
      const res = await as('admin').delete(`/api/meters/${m.meterNumber}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, message: 'Meter deleted', data: { id: m.id } });

      expect((await as('viewer').get(`/api/meters/${m.id}`)).status).toBe(404);
      expect((await as('viewer').get(`/api/meters/${m.meterNumber}`)).status).toBe(404);
      const list = await as('viewer').get(`/api/meters?brand=${m.brand}`);
      expect(list.body.pagination.total).toBe(0);
      const { rows } = await pool.query('select deleted_at from meters where id = $1', [m.id]);
      expect(rows[0].deleted_at).toBeInstanceOf(Date);

      expect((await as('admin').patch(`/api/meters/${m.id}`, { brand: 'x' })).status).toBe(404);
      expect((await as('admin').delete(`/api/meters/${m.id}`)).status).toBe(404);

      const again = await as('admin').post('/api/meters', meterBody({ meterNumber: m.meterNumber }));
      expect(again.status).toBe(201);
      expect(again.body.data.id).not.toBe(m.id);
    });
  });

  describe('roles', () => {
    it('lets viewers only read; operators create and update but not delete; admins do everything', async () => {
      const m = await createMeter();
      expect((await as('viewer').get('/api/meters')).status).toBe(200);
      expect((await as('viewer').post('/api/meters', meterBody())).status).toBe(403);
      expect((await as('viewer').patch(`/api/meters/${m.id}`, { brand: 'x' })).status).toBe(403);
      expect((await as('viewer').delete(`/api/meters/${m.id}`)).status).toBe(403);
      expect(
        (await as('viewer').post('/api/meters/batch/configure-online', { meterIds: [m.id] })).status,
      ).toBe(403);
      expect((await as('viewer').post('/api/meters/batch/enable-all-online', {})).status).toBe(403);

      expect((await as('operator').post('/api/meters', meterBody())).status).toBe(201);
      expect((await as('operator').patch(`/api/meters/${m.id}`, { brand: 'y' })).status).toBe(200);
      const opDelete = await as('operator').delete(`/api/meters/${m.id}`);
      expect(opDelete.status).toBe(403);
      expect(opDelete.body).toEqual({
        success: false,
        message: 'This action requires one of the roles: admin',
        error: 'Forbidden',
      });
      expect((await as('operator').post('/api/meters/batch/enable-all-online', {})).status).toBe(403);
      expect(
        (await as('operator').post('/api/meters/batch/configure-online', { meterIds: [m.id] })).status,
      ).toBe(200);

      expect((await as('admin').delete(`/api/meters/${m.id}`)).status).toBe(200);
      for (const call of [
        request(api.server).get('/api/meters'),
        request(api.server).post('/api/meters').send(meterBody()),
        request(api.server).post('/api/meters/batch/enable-all-online'),
      ]) {
        expect((await call).status).toBe(401);
      }
    });
  });

  describe('POST /api/meters/batch/enable-all-online', () => {
    const pollable = async () =>
      (
        await pool.query(
          `select id, status, ip_address, port from meters where deleted_at is null and status not in ('warehouse', 'faulty')`,
        )
      ).rows;

    it('configures every live meter outside warehouse/faulty with the defaults and answers as the seed guide shows', async () => {
      const offline = await createMeter({ status: 'offline', ipAddress: '10.1.1.1' });
      const active = await createMeter({ status: 'active' });
      const warehouse = await createMeter({ status: 'warehouse', ipAddress: '10.2.2.2', port: 8081 });
      const faulty = await createMeter({ status: 'faulty', ipAddress: '10.3.3.3' });
      const deleted = await createMeter({ status: 'offline', ipAddress: '10.4.4.4' });
      await as('admin').delete(`/api/meters/${deleted.id}`).expect(200);

      const before = await pollable();
      const expectedModified = before.filter(
        (m) => m.status !== 'online' || m.ip_address !== '127.0.0.1' || m.port !== 8080,
      ).length;
      expect(expectedModified).toBeGreaterThanOrEqual(2);

      const res = await as('admin').post('/api/meters/batch/enable-all-online');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        message: `Configured ${before.length} meters for online monitoring`,
        data: {
          matchedCount: before.length,
          modifiedCount: expectedModified,
          configuration: { status: 'online', ipAddress: '127.0.0.1', port: 8080 },
        },
      });

      const after = await pollable();
      expect(after).toHaveLength(before.length);
      expect(
        after.every((m) => m.status === 'online' && m.ip_address === '127.0.0.1' && m.port === 8080),
      ).toBe(true);
      const one = async (id: string) =>
        (await pool.query('select status, ip_address, port, deleted_at from meters where id = $1', [id]))
          .rows[0];
      expect(await one(offline.id)).toMatchObject({ status: 'online', ip_address: '127.0.0.1' });
      expect(await one(active.id)).toMatchObject({ status: 'online' });
      expect(await one(warehouse.id)).toMatchObject({
        status: 'warehouse',
        ip_address: '10.2.2.2',
        port: 8081,
      });
      expect(await one(faulty.id)).toMatchObject({ status: 'faulty', ip_address: '10.3.3.3' });
      expect(await one(deleted.id)).toMatchObject({ status: 'offline', ip_address: '10.4.4.4' });

      const again = await as('admin').post('/api/meters/batch/enable-all-online').send({});
      expect(again.body.data).toMatchObject({ matchedCount: before.length, modifiedCount: 0 });
    });

    it('uses the ipAddress and port of the body', async () => {
      await createMeter();
      const res = await as('admin').post('/api/meters/batch/enable-all-online', {
        ipAddress: '192.168.1.100',
        port: 8080,
      });
      expect(res.status).toBe(200);
      expect(res.body.data.configuration).toEqual({
        status: 'online',
        ipAddress: '192.168.1.100',
        port: 8080,
      });
      const rows = await pollable();
      expect(res.body.data.matchedCount).toBe(rows.length);
      expect(rows.every((m) => m.ip_address === '192.168.1.100' && m.port === 8080)).toBe(true);
    });

    it.each<[Record<string, unknown>, RegExp]>([
      [{ ipAddress: 'nope' }, /ipAddress must be an IPv4 or IPv6 address/],
      [{ ipAddress: '8.8.4.4' }, /is outside METER_ALLOWED_NETWORKS/],
      [{ port: 65536 }, /port must not be greater than 65535/],
      [{ status: 'online' }, /property status should not exist/],
    ])('refuses %j with 400 and changes nothing', async (body, message) => {
      const before = await pollable();
      const res = await as('admin').post('/api/meters/batch/enable-all-online', body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      expect(await pollable()).toEqual(before);
    });
  });

  describe('POST /api/meters/batch/configure-online', () => {
    it('configures the listed meters (ids and meter numbers) and answers as the seed guide shows', async () => {
      const a = await createMeter({ status: 'offline', ipAddress: '10.0.0.5' });
      const b = await createMeter({ status: 'warehouse' });
      const untouched = await createMeter({ status: 'offline', ipAddress: '10.0.0.6' });
      const res = await as('operator').post('/api/meters/batch/configure-online', {
        meterIds: [a.id, b.meterNumber, a.meterNumber],
        ipAddress: '10.0.0.99',
        port: 8088,
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        message: 'Configured 2 meters for online monitoring',
        data: {
          matchedCount: 2,
          modifiedCount: 2,
          configuration: { status: 'online', ipAddress: '10.0.0.99', port: 8088 },
        },
      });
      const { rows } = await pool.query(
        'select id, status, ip_address, port from meters where id = any($1) order by id',
        [[a.id, b.id, untouched.id]],
      );
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId[a.id]).toMatchObject({ status: 'online', ip_address: '10.0.0.99', port: 8088 });
      expect(byId[b.id]).toMatchObject({ status: 'online', ip_address: '10.0.0.99', port: 8088 });
      expect(byId[untouched.id]).toMatchObject({ status: 'offline', ip_address: '10.0.0.6' });

      const same = await as('admin').post('/api/meters/batch/configure-online', {
        meterIds: [a.id],
        ipAddress: '10.0.0.99',
        port: 8088,
      });
      expect(same.body.data).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    });

    it('defaults to METER_HOST / METER_PORT and accepts another status', async () => {
      const m = await createMeter({ ipAddress: '10.7.7.7', port: 7777 });
      const res = await as('admin').post('/api/meters/batch/configure-online', { meterIds: [m.id] });
      expect(res.body.data).toEqual({
        matchedCount: 1,
        modifiedCount: 1,
        configuration: { status: 'online', ipAddress: '127.0.0.1', port: 8080 },
      });
      const parked = await as('admin').post('/api/meters/batch/configure-online', {
        meterIds: [m.meterNumber],
        status: 'warehouse',
      });
      expect(parked.body.data.configuration.status).toBe('warehouse');
      expect((await as('viewer').get(`/api/meters/${m.id}`)).body.data.status).toBe('warehouse');
    });

    it('is all or nothing: unknown or deleted meters → 404 naming them, nothing changed', async () => {
      const a = await createMeter({ status: 'offline', ipAddress: '10.0.1.1' });
      const gone = await createMeter({ status: 'offline' });
      await as('admin').delete(`/api/meters/${gone.id}`).expect(200);
      const res = await as('admin').post('/api/meters/batch/configure-online', {
        meterIds: [a.id, 'NO-SUCH-METER', gone.id, '00000000-0000-4000-8000-000000000000'],
      });
      expect(res.status).toBe(404);
      expect(res.body.success).toBe(false);
      expect(res.body.error).toBe('Not Found');
      expect(res.body.message).toMatch(/^3 of 4 meter\(s\) not found, nothing was changed: /);
      for (const ref of ['NO-SUCH-METER', gone.id, '00000000-0000-4000-8000-000000000000']) {
        expect(res.body.message).toContain(ref);
      }
      expect(res.body.message).not.toContain(a.id);
      const { rows } = await pool.query('select status, ip_address from meters where id = $1', [a.id]);
      expect(rows[0]).toEqual({ status: 'offline', ip_address: '10.0.1.1' });
    });

    it.each<[Record<string, unknown>, RegExp]>([
      [{}, /meterIds must be an array/],
      [{ meterIds: [] }, /meterIds must contain at least 1 elements/],
      [
        { meterIds: Array.from({ length: 1001 }, (_, i) => `M-${i}`) },
        /meterIds must contain no more than 1000 elements/,
      ],
      [{ meterIds: [42] }, /each value in meterIds must be a string/],
      [{ meterIds: ['M-1'], status: 'gone' }, /status must be one of/],
      [{ meterIds: ['M-1'], ipAddress: '300.1.1.1' }, /ipAddress must be an IPv4 or IPv6 address/],
      [{ meterIds: ['M-1'], ipAddress: '9.9.9.9' }, /is outside METER_ALLOWED_NETWORKS/],
      [{ meterIds: ['M-1'], port: 0 }, /port must not be less than 1/],
      [{ meterIds: ['M-1'], extra: 1 }, /property extra should not exist/],
    ])('refuses %j with 400', async (body, message) => {
      const res = await as('admin').post('/api/meters/batch/configure-online', body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    });
  });
});
