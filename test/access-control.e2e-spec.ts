/**
 * Issue 10, access control: area-scoped users and keys see and act only within their areas (REST and
 * Socket.IO), API keys work like users and are revocable, and every revocation trigger ends tokens and
 * sockets at once. Real PostgreSQL, Redis and Socket.IO clients.
 */
import { MeterStatusChangeEvent, ROOMS, WS_EVENTS } from '@app/contracts';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { adminToken, createTestApi, createUser, TestApi } from '@app/testing';
import { freePort, issuePushSecret, push } from './push-helpers';
import { connectClient, connectRefusal, joinRoom } from './realtime-helpers';

const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe('access control: areas, API keys, revocation', () => {
  let api: TestApi;
  let admin: string;
  let suiteStartedAt: Date;
  let pushUrl: string;
  const areaIds: { north: string; south: string } = { north: '', south: '' };
  const meterIds: { north: string; south: string; south2: string } = { north: '', south: '', south2: '' };
  const meterNumbers: Record<keyof typeof meterIds, string> = { north: '', south: '', south2: '' };
  const sockets: Socket[] = [];

  const bearer = (credential: string) => ({ Authorization: `Bearer ${credential}` });
  const as = (headers: Record<string, string>) => ({
    get: (url: string) => request(api.server).get(url).set(headers),
    post: (url: string, body: object = {}) => request(api.server).post(url).set(headers).send(body),
    patch: (url: string, body: object) => request(api.server).patch(url).set(headers).send(body),
    delete: (url: string) => request(api.server).delete(url).set(headers),
  });
  const asAdmin = () => as(bearer(admin));

  async function scopedUser(role: 'operator' | 'viewer', areas: string[]) {
    const user = await createUser(api, role);
    await asAdmin().patch(`/api/users/${user.id}`, { areaIds: areas }).expect(200);
    const login = await request(api.server)
      .post('/api/auth/login')
      .send({ username: user.username, password: user.password })
      .expect(200);
    return { ...user, token: login.body.data.token as string };
  }

  async function socketFor(auth: { token?: string; headers?: Record<string, string> }) {
    const socket = await connectClient(api.baseUrl, auth);
    sockets.push(socket);
    return socket;
  }

  function disconnected(socket: Socket): Promise<string> {
    return new Promise((resolve) => {
      if (!socket.connected) resolve('already');
      socket.once('disconnect', (reason) => resolve(reason));
    });
  }

  beforeAll(async () => {
    // The push listener too: the meters below raise their alarms the way meters do.
    const pushPort = await freePort();
    pushUrl = `http://127.0.0.1:${pushPort}`;
    api = await createTestApi({ PUSH_PORT: String(pushPort) });
    suiteStartedAt = (await api.app.get<Pool>(PG_POOL).query<{ now: Date }>('select now()')).rows[0].now;
    admin = await adminToken(api);
    for (const name of ['north', 'south'] as const) {
      const code = `AC-${name.toUpperCase()}-${uniq()}`.slice(0, 32);
      const res = await asAdmin()
        .post('/api/areas', { name: `ac ${name} ${uniq()}`, code })
        .expect(201);
      areaIds[name] = res.body.data.id;
    }
    for (const [key, area] of [
      ['north', 'north'],
      ['south', 'south'],
      ['south2', 'south'],
    ] as const) {
      meterNumbers[key] = `AC-${key}-${uniq()}`.toUpperCase().slice(0, 32);
      const res = await asAdmin()
        .post('/api/meters', {
          meterNumber: meterNumbers[key],
          meterType: 'single-phase',
          brand: 'acme',
          model: 'm1',
          area: areaIds[area],
          status: 'warehouse',
        })
        .expect(201);
      meterIds[key] = res.body.data.id;
    }
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await api?.app
      .get<Pool>(PG_POOL)
      .query('update meters set deleted_at = now() where deleted_at is null and created_at >= $1', [
        suiteStartedAt,
      ]);
    await api?.close();
  });

  describe('area-scoped users', () => {
    it('carry areaIds (create, read, update) and admins cannot be area-bound', async () => {
      const username = `ac-${uniq()}`;
      const created = await asAdmin()
        .post('/api/users', { username, password: 'password-123', role: 'viewer', areaIds: [areaIds.north] })
        .expect(201);
      expect(created.body.data.areaIds).toEqual([areaIds.north]);
      const read = await asAdmin().get(`/api/users/${created.body.data.id}`).expect(200);
      expect(read.body.data.areaIds).toEqual([areaIds.north]);
      const cleared = await asAdmin()
        .patch(`/api/users/${created.body.data.id}`, { areaIds: [] })
        .expect(200);
      expect(cleared.body.data.areaIds).toEqual([]);

      const unknownArea = await asAdmin().patch(`/api/users/${created.body.data.id}`, {
        areaIds: ['00000000-0000-4000-8000-000000000000'],
      });
      expect(unknownArea.status).toBe(400);
      const scopedAdmin = await asAdmin().post('/api/users', {
        username: `ac-${uniq()}`,
        password: 'password-123',
        role: 'admin',
        areaIds: [areaIds.north],
      });
      expect(scopedAdmin.status).toBe(400);
      expect(scopedAdmin.body).toMatchObject({ success: false, error: 'Bad Request' });
    });

    it('list only their areas and meters; anything else answers 404', async () => {
      const viewer = await scopedUser('viewer', [areaIds.south]);
      const me = as(bearer(viewer.token));

      const meters = await me.get('/api/meters?limit=100&search=AC-').expect(200);
      const listed = meters.body.data.map((m: { id: string }) => m.id);
      expect(listed).toEqual(expect.arrayContaining([meterIds.south, meterIds.south2]));
      expect(listed).not.toContain(meterIds.north);
      expect(meters.body.data.every((m: { area: { id: string } }) => m.area.id === areaIds.south)).toBe(true);
      // The capped count and the keyset pages (issue 11) are of their areas too: the north meter (which
      // sorts first) is neither counted nor on any page.
      const acMeters = `/api/meters?search=AC-&brand=acme&limit=1`;
      const mine = [meterNumbers.south, meterNumbers.south2].sort();
      const first = await me.get(acMeters).expect(200);
      expect(first.body.pagination).toMatchObject({ total: 2, totalExact: true, nextCursor: mine[0] });
      const second = await me.get(`${acMeters}&cursor=${encodeURIComponent(mine[0])}`).expect(200);
      expect(second.body.data.map((m: { meterNumber: string }) => m.meterNumber)).toEqual([mine[1]]);
      const beyond = await me.get(`${acMeters}&cursor=${encodeURIComponent(mine[1])}`).expect(200);
      expect(beyond.body.data).toEqual([]);

      const areas = await me.get('/api/areas?limit=100').expect(200);
      expect(areas.body.data.map((a: { id: string }) => a.id)).toEqual([areaIds.south]);

      for (const url of [
        `/api/meters/${meterIds.north}`,
        `/api/meters/${meterNumbers.north}`,
        `/api/meters/${meterIds.north}/obis-readings`,
        `/api/meters/${meterIds.north}/obis-readings/history`,
        `/api/meters/${meterIds.north}/commands`,
        `/api/areas/${areaIds.north}`,
      ]) {
        const res = await me.get(url);
        expect({ url, status: res.status }).toEqual({ url, status: 404 });
      }
      await me.get(`/api/meters/${meterIds.south}`).expect(200);
      await me.get(`/api/meters/${meterIds.south}/obis-readings`).expect(200);
      // Polling status counts only their areas' meters (the one south meter set online here).
      await asAdmin().patch(`/api/meters/${meterIds.south}`, { status: 'online' }).expect(200);
      const polling = await me.get('/api/meters/polling/status').expect(200);
      expect(polling.body.data).toMatchObject({ onlineMeterCount: 1, offlineMeterCount: 0 });
      // Filtering by an area outside the scope finds nothing rather than revealing it.
      const other = await me.get(`/api/meters?area=${areaIds.north}`).expect(200);
      expect(other.body.data).toEqual([]);
    });

    it('act only within their areas: single commands and updates 404, batches touch only their meters', async () => {
      const operator = await scopedUser('operator', [areaIds.south]);
      const me = as(bearer(operator.token));

      expect((await me.post(`/api/meters/${meterIds.north}/read-obis`)).status).toBe(404);
      expect((await me.patch(`/api/meters/${meterIds.north}`, { firmware: 'x' })).status).toBe(404);
      // Creating a meter in (or moving one to) an area outside the scope: as if the area did not exist.
      const create = await me.post('/api/meters', {
        meterNumber: `AC-X-${uniq()}`.toUpperCase(),
        meterType: 'single-phase',
        brand: 'acme',
        model: 'm1',
        area: areaIds.north,
      });
      expect(create.status).toBe(400);
      expect((await me.patch(`/api/meters/${meterIds.south}`, { area: areaIds.north })).status).toBe(400);
      expect((await me.post('/api/areas', { name: `x ${uniq()}`, code: `X-${uniq()}` })).status).toBe(403);

      const before = await asAdmin().get(`/api/meters/${meterIds.north}`).expect(200);
      const mixed = await me.post('/api/meters/batch/configure-online', {
        meterIds: [meterIds.south, meterIds.north],
        status: 'warehouse',
      });
      expect(mixed.status).toBe(404);
      expect(mixed.body.message).toContain(meterIds.north);
      const after = await asAdmin().get(`/api/meters/${meterIds.north}`).expect(200);
      expect(after.body.data.updatedAt).toBe(before.body.data.updatedAt);

      const own = await me
        .post('/api/meters/batch/configure-online', {
          meterIds: [meterIds.south, meterNumbers.south2],
          status: 'warehouse',
        })
        .expect(200);
      expect(own.body.data.matchedCount).toBe(2);
    });

    it("see only their areas' load profiles, reports and alarms, and acknowledge only those", async () => {
      const viewer = await scopedUser('viewer', [areaIds.south]);
      const me = as(bearer(viewer.token));
      for (const key of ['north', 'south'] as const) {
        const secret = await issuePushSecret(api.server, admin, meterIds[key]);
        const raised = await push(
          pushUrl,
          '/push/alarms',
          { meterNumber: meterNumbers[key], alarm: 'cover-open', timestamp: new Date().toISOString() },
          secret,
        );
        expect(raised.status).toBe(200);
      }

      for (const url of [
        `/api/meters/${meterIds.north}/load-profile`,
        `/api/meters/${meterNumbers.north}/load-profile?format=csv`,
        `/api/meters/${meterIds.north}/load-profile/completeness`,
        `/api/reports/completeness?area=${areaIds.north}`,
        `/api/reports/clock-drift?area=${areaIds.north}`,
      ]) {
        const res = await me.get(url);
        expect({ url, status: res.status, success: res.body.success }).toEqual({
          url,
          status: 404,
          success: false,
        });
      }
      const own = await me.get(`/api/meters/${meterIds.south}/load-profile`).expect(200);
      expect(own.body.data).toMatchObject({ meterId: meterIds.south, entries: [] });

      // The admin sees both meters' alarms; the south viewer only the south one, whatever the filter says.
      const ours = `meter=${meterNumbers.north}`;
      const all = await asAdmin().get(`/api/alarms?${ours}`).expect(200);
      expect(all.body.data).toHaveLength(1);
      const northAlarm = all.body.data[0].id as string;
      const mine = await me.get('/api/alarms?limit=100').expect(200);
      const areasSeen = new Set(mine.body.data.map((a: { areaId: string }) => a.areaId));
      expect([...areasSeen]).toEqual([areaIds.south]);
      expect(mine.body.data.map((a: { meterId: string }) => a.meterId)).toContain(meterIds.south);
      expect((await me.get(`/api/alarms?${ours}`).expect(200)).body.data).toEqual([]);
      expect((await me.get(`/api/alarms?area=${areaIds.north}`).expect(200)).body.data).toEqual([]);

      // An area-scoped operator cannot acknowledge the north alarm: 404, and it stays open.
      const operator = await scopedUser('operator', [areaIds.south]);
      expect((await as(bearer(operator.token)).post(`/api/alarms/${northAlarm}/ack`)).status).toBe(404);
      const still = await asAdmin().get(`/api/alarms?${ours}`).expect(200);
      expect(still.body.data[0]).toMatchObject({ id: northAlarm, state: 'open', acknowledgedBy: null });
    });

    it('on Socket.IO: refuses rooms outside the areas, and `meters` delivers only their areas', async () => {
      const viewer = await scopedUser('viewer', [areaIds.south]);
      const socket = await socketFor({ token: viewer.token });
      expect(await joinRoom(socket, ROOMS.meter(meterIds.north))).toMatchObject({ success: false });
      expect(await joinRoom(socket, ROOMS.area(areaIds.north))).toMatchObject({ success: false });
      expect(await joinRoom(socket, `user-${viewer.id}`)).toMatchObject({ success: false });
      expect(await joinRoom(socket, ROOMS.meter(meterIds.south))).toMatchObject({ success: true });
      expect(await joinRoom(socket, ROOMS.fleet)).toMatchObject({ success: true, room: ROOMS.fleet });

      const fleetWide = await socketFor({ token: admin });
      expect(await joinRoom(fleetWide, ROOMS.fleet)).toMatchObject({ success: true });

      const seen: MeterStatusChangeEvent[] = [];
      const seenByAdmin: MeterStatusChangeEvent[] = [];
      socket.on(WS_EVENTS.STATUS_CHANGE, (e: MeterStatusChangeEvent) => {
        seen.push(e);
      });
      fleetWide.on(WS_EVENTS.STATUS_CHANGE, (e: MeterStatusChangeEvent) => {
        seenByAdmin.push(e);
      });
      await asAdmin().patch(`/api/meters/${meterIds.north}`, { status: 'faulty' }).expect(200);
      await asAdmin().patch(`/api/meters/${meterIds.south2}`, { status: 'faulty' }).expect(200);
      // Both changes reach the fleet-wide client; by then the scoped one has had its chance at both.
      await waitFor(() => seenByAdmin.some((e) => e.meterId === meterIds.south2) && seen.length > 0);
      await waitFor(() => seenByAdmin.some((e) => e.meterId === meterIds.north));
      expect(seen.map((e) => e.meterId)).toEqual([meterIds.south2]);
    });
  });

  describe('API keys', () => {
    it('are created once with a hashed secret, work as Bearer or X-API-Key on REST and Socket.IO, and are listed with last use', async () => {
      const created = await asAdmin()
        .post('/api/api-keys', { name: `billing ${uniq()}`, role: 'viewer', areaIds: [areaIds.south] })
        .expect(201);
      const { id, key } = created.body.data as { id: string; key: string };
      expect(key).toMatch(/^hes_[A-Za-z0-9_-]{43}$/);

      const stored = await api.app
        .get<Pool>(PG_POOL)
        .query<{ key_hash: string }>('select key_hash from api_keys where id = $1', [id]);
      expect(stored.rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.rows[0].key_hash).not.toContain(key.slice(4));

      const viaBearer = await as(bearer(key)).get('/api/meters?limit=100&search=AC-').expect(200);
      expect(viaBearer.body.data.map((m: { id: string }) => m.id)).not.toContain(meterIds.north);
      await as({ 'X-API-Key': key }).get(`/api/meters/${meterIds.south}`).expect(200);
      expect((await as({ 'X-API-Key': key }).get(`/api/meters/${meterIds.north}`)).status).toBe(404);
      // Same permission checks as a user of that role.
      expect((await as({ 'X-API-Key': key }).post(`/api/meters/${meterIds.south}/read-obis`)).status).toBe(
        403,
      );
      expect((await as({ 'X-API-Key': key }).get('/api/api-keys')).status).toBe(403);

      const socket = await socketFor({ headers: { 'X-API-Key': key } });
      expect(await joinRoom(socket, ROOMS.meter(meterIds.south))).toMatchObject({ success: true });
      expect(await joinRoom(socket, ROOMS.meter(meterIds.north))).toMatchObject({ success: false });

      const list = await asAdmin().get('/api/api-keys?limit=100').expect(200);
      const listed = list.body.data.find((k: { id: string }) => k.id === id);
      expect(listed).toMatchObject({ role: 'viewer', areaIds: [areaIds.south], revokedAt: null });
      expect(listed.prefix).toBe(key.slice(0, 12));
      expect(listed.lastUsedAt).not.toBeNull();
      expect(JSON.stringify(list.body)).not.toContain(key);

      // Revoked: refused at once on REST, its socket disconnected.
      const gone = disconnected(socket);
      await asAdmin().delete(`/api/api-keys/${id}`).expect(200);
      expect(await gone).toBeTruthy();
      expect((await as(bearer(key)).get('/api/meters')).status).toBe(401);
      expect((await connectRefusal(api.baseUrl, { headers: { 'X-API-Key': key } })).message).toBe(
        'unauthorized',
      );
    });

    it('are refused after their expiry, and only admins manage them', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const created = await asAdmin()
        .post('/api/api-keys', { name: `short ${uniq()}`, role: 'operator', expiresAt })
        .expect(201);
      const key = created.body.data.key as string;
      await as(bearer(key)).get('/api/areas').expect(200);
      await waitFor(() => Date.now() > Date.parse(expiresAt));
      expect((await as(bearer(key)).get('/api/areas')).status).toBe(401);

      expect(
        (
          await asAdmin().post('/api/api-keys', {
            name: 'past',
            role: 'viewer',
            expiresAt: '2000-01-01T00:00:00Z',
          })
        ).status,
      ).toBe(400);
      expect((await asAdmin().post('/api/api-keys', { name: 'x', role: 'root' })).status).toBe(400);
      const operator = await createUser(api, 'operator');
      expect(
        (await as(bearer(operator.token)).post('/api/api-keys', { name: 'mine', role: 'admin' })).status,
      ).toBe(403);
      expect((await as(bearer('hes_not-a-real-key')).get('/api/areas')).status).toBe(401);
    });
  });

  describe('revocation', () => {
    const triggers: [string, (id: string, token: string) => Promise<unknown>][] = [
      ['logout', (_id, token) => as(bearer(token)).post('/api/auth/logout').expect(200)],
      [
        'password change',
        (id) => asAdmin().patch(`/api/users/${id}`, { password: 'another-password' }).expect(200),
      ],
      ['role change', (id) => asAdmin().patch(`/api/users/${id}`, { role: 'viewer' }).expect(200)],
      [
        'area change',
        (id) =>
          asAdmin()
            .patch(`/api/users/${id}`, { areaIds: [areaIds.north] })
            .expect(200),
      ],
      ['deactivation', (id) => asAdmin().patch(`/api/users/${id}`, { isActive: false }).expect(200)],
    ];

    it.each(triggers)(
      '%s ends the existing tokens at once and disconnects the sockets',
      async (_name, trigger) => {
        const user = await createUser(api, 'operator');
        const socket = await socketFor({ token: user.token });
        await as(bearer(user.token)).get('/api/auth/me').expect(200);
        const gone = disconnected(socket);
        await trigger(user.id, user.token);
        expect(await gone).toBeTruthy();
        const res = await as(bearer(user.token)).get('/api/auth/me');
        expect(res.status).toBe(401);
        expect((await connectRefusal(api.baseUrl, { token: user.token })).message).toBe('unauthorized');
      },
    );

    it("disconnects the user's sockets on another api instance too (through the Socket.IO adapter), whose requests are refused within its 1 s re-read of the user", async () => {
      const other = await createTestApi();
      try {
        const user = await createUser(api, 'viewer');
        const socket = await connectClient(other.baseUrl, { token: user.token });
        sockets.push(socket);
        // The other instance has read (and may reuse for up to 1 s) the user's row.
        const onOther = () =>
          request(other.server).get('/api/auth/me').set('Authorization', `Bearer ${user.token}`);
        expect((await onOther()).status).toBe(200);
        const gone = disconnected(socket);
        await as(bearer(user.token)).post('/api/auth/logout').expect(200);
        expect(await gone).toBe('io server disconnect');
        let res = await onOther();
        for (const deadline = Date.now() + 5_000; res.status === 200 && Date.now() < deadline;) {
          await new Promise((r) => setTimeout(r, 100));
          res = await onOther();
        }
        expect(res.body).toEqual({ success: false, message: 'Token revoked', error: 'Unauthorized' });
      } finally {
        await other.close();
      }
    });

    it('a change that revokes nothing (same role) keeps the token', async () => {
      const user = await createUser(api, 'operator');
      await asAdmin().patch(`/api/users/${user.id}`, { role: 'operator' }).expect(200);
      await as(bearer(user.token)).get('/api/auth/me').expect(200);
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
