import request from 'supertest';
import { adminToken, createScratchDatabase, createTestApi, createUser, loginAs, TestApi } from '@app/testing';

describe('users (admin only)', () => {
  let api: TestApi;
  let admin: string;
  let operator: string;
  let viewer: string;

  beforeAll(async () => {
    api = await createTestApi();
    admin = await adminToken(api);
    operator = await loginAs(api, 'operator');
    viewer = await loginAs(api, 'viewer');
  });
  afterAll(() => api?.close());

  const as = (token: string) => ({
    get: (url: string) => request(api.server).get(url).set('Authorization', `Bearer ${token}`),
    post: (url: string, body: object) =>
      request(api.server).post(url).set('Authorization', `Bearer ${token}`).send(body),
    patch: (url: string, body: object) =>
      request(api.server).patch(url).set('Authorization', `Bearer ${token}`).send(body),
  });
  const unique = (prefix: string) =>
    `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  it('refuses operators and viewers on every users endpoint (403) and anonymous callers (401)', async () => {
    const me = (await as(admin).get('/api/auth/me')).body.data;
    for (const token of [operator, viewer]) {
      const calls = [
        as(token).get('/api/users'),
        as(token).get(`/api/users/${me.id}`),
        as(token).post('/api/users', { username: unique('x'), password: 'password-1', role: 'viewer' }),
        as(token).patch(`/api/users/${me.id}`, { role: 'viewer' }),
      ];
      for (const res of await Promise.all(calls)) {
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ success: false, error: 'Forbidden' });
      }
    }
    expect((await request(api.server).get('/api/users')).status).toBe(401);
  });

  it('lets an operator not raise their own role', async () => {
    const self = (await as(operator).get('/api/auth/me')).body.data;
    const res = await as(operator).patch(`/api/users/${self.id}`, { role: 'admin' });
    expect(res.status).toBe(403);
    expect((await as(operator).get('/api/auth/me')).body.data.role).toBe('operator');
  });

  it('creates users with a role; the password is never returned and works for login', async () => {
    const username = unique('new.user');
    const res = await as(admin).post('/api/users', {
      username,
      password: 'a-good-password',
      role: 'operator',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      data: { username, role: 'operator', isActive: true, lastLoginAt: null },
    });
    expect(res.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
    const login = await request(api.server)
      .post('/api/auth/login')
      .send({ username, password: 'a-good-password' });
    expect(login.status).toBe(200);
    const fetched = await as(admin).get(`/api/users/${res.body.data.id}`);
    expect(fetched.body.data.lastLoginAt).not.toBeNull();
  });

  it('answers 409 for a taken username', async () => {
    const username = unique('dup');
    await as(admin).post('/api/users', { username, password: 'password-1', role: 'viewer' }).expect(201);
    const res = await as(admin).post('/api/users', { username, password: 'password-2', role: 'admin' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      success: false,
      message: `Username "${username}" is already taken`,
      error: 'Conflict',
    });
  });

  it.each([
    [{ username: 'ab', password: 'password-1', role: 'viewer' }, /username must be 3-64/],
    [{ username: 'has space', password: 'password-1', role: 'viewer' }, /username must be 3-64/],
    [
      { username: 'short-pw', password: 'short', role: 'viewer' },
      /password must be longer than or equal to 8/,
    ],
    [{ username: 'bad-role', password: 'password-1', role: 'superuser' }, /role must be one of/],
    [{ username: 'no-role', password: 'password-1' }, /role must be one of/],
    [
      { username: 'extra', password: 'password-1', role: 'viewer', isActive: false },
      /property isActive should not exist/,
    ],
  ])('refuses an invalid user %j with 400', async (body, message) => {
    const res = await as(admin).post('/api/users', body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
  });

  it('lists users with pagination', async () => {
    const res = await as(admin).get('/api/users?limit=2&page=1');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.pagination).toMatchObject({ page: 1, limit: 2 });
    expect(res.body.pagination.total).toBeGreaterThanOrEqual(3);
    expect(res.body.pagination.pages).toBe(Math.ceil(res.body.pagination.total / 2));
    expect((await as(admin).get('/api/users?limit=101')).status).toBe(400);
  });

  it('changes role, password and active flag', async () => {
    const user = await createUser(api, 'viewer');
    const res = await as(admin).patch(`/api/users/${user.id}`, {
      role: 'operator',
      password: 'brand-new-password',
    });
    expect(res.status).toBe(200);
    expect(res.body.data.role).toBe('operator');
    const oldPw = await request(api.server)
      .post('/api/auth/login')
      .send({ username: user.username, password: user.password });
    expect(oldPw.status).toBe(401);
    const newPw = await request(api.server)
      .post('/api/auth/login')
      .send({ username: user.username, password: 'brand-new-password' });
    expect(newPw.status).toBe(200);
    expect(newPw.body.data.user.role).toBe('operator');
    const off = await as(admin).patch(`/api/users/${user.id}`, { isActive: false });
    expect(off.body.data.isActive).toBe(false);
    const on = await as(admin).patch(`/api/users/${user.id}`, { isActive: true });
    expect(on.body.data.isActive).toBe(true);
  });

  it('refuses bad updates: unknown fields, bad values, bad and unknown ids', async () => {
    const user = await createUser(api, 'viewer');
    expect((await as(admin).patch(`/api/users/${user.id}`, { username: 'renamed' })).status).toBe(400);
    expect((await as(admin).patch(`/api/users/${user.id}`, { isActive: 'no' })).status).toBe(400);
    expect((await as(admin).patch(`/api/users/${user.id}`, { role: 'root' })).status).toBe(400);
    const badId = await as(admin).patch('/api/users/not-a-uuid', { role: 'viewer' });
    expect(badId.status).toBe(400);
    expect(badId.body).toEqual({ success: false, message: 'id must be a UUID', error: 'Bad Request' });
    const unknown = await as(admin).patch('/api/users/00000000-0000-4000-8000-000000000000', {
      role: 'viewer',
    });
    expect(unknown.status).toBe(404);
    expect((await as(admin).get('/api/users/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await as(admin).get('/api/users/123')).status).toBe(400);
  });

  describe('the last active admin', () => {
    it('cannot be demoted or deactivated; another admin makes it possible', async () => {
      const db = await createScratchDatabase();
      const solo = await createTestApi({ DATABASE_URL: db.url });
      try {
        let token = await adminToken(solo);
        const call = (method: 'get' | 'patch' | 'post', url: string, body?: object) =>
          request(solo.server)[method](url).set('Authorization', `Bearer ${token}`).send(body);
        const me = (await call('get', '/api/auth/me')).body.data;
        for (const body of [{ role: 'operator' }, { isActive: false }, { role: 'viewer', isActive: false }]) {
          const res = await call('patch', `/api/users/${me.id}`, body);
          expect(res.status).toBe(409);
          expect(res.body).toEqual({
            success: false,
            message: 'Cannot deactivate or demote the last active admin',
            error: 'Conflict',
          });
        }
        expect((await call('get', '/api/auth/me')).body.data).toMatchObject({
          role: 'admin',
          isActive: true,
        });
        // A password change of the last admin is fine.
        expect(
          (await call('patch', `/api/users/${me.id}`, { password: solo.env.ADMIN_PASSWORD })).status,
        ).toBe(200);
        // ...and ends the tokens issued before it, this one included.
        expect((await call('get', '/api/auth/me')).status).toBe(401);
        const again = await request(solo.server)
          .post('/api/auth/login')
          .send({ username: solo.env.ADMIN_USERNAME, password: solo.env.ADMIN_PASSWORD });
        token = again.body.data.token as string;

        const second = await call('post', '/api/users', {
          username: 'second-admin',
          password: 'password-2',
          role: 'admin',
        });
        expect(second.status).toBe(201);
        const demoted = await call('patch', `/api/users/${me.id}`, { role: 'viewer' });
        expect(demoted.status).toBe(200);
        expect(demoted.body.data.role).toBe('viewer');
      } finally {
        await solo.close();
        await db.drop();
      }
    });
  });
});
