import request from 'supertest';
import { adminToken, createTestApi, createUser, loginAs, TestApi } from '@app/testing';

/** The board cookie's `name=value`, ready for a Cookie header, and its attributes. */
function boardCookie(res: request.Response): { pair: string; attributes: string } {
  const header = ([] as string[])
    .concat(res.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith('hes_board_session='));
  if (!header) throw new Error(`no board cookie in ${JSON.stringify(res.headers)}`);
  return { pair: header.split(';')[0], attributes: header };
}

describe('Bull Board at /admin/queues', () => {
  let api: TestApi;
  const openSession = async (token: string, proto?: string) => {
    const req = request(api.server).post('/api/auth/board-session').set('Authorization', `Bearer ${token}`);
    if (proto) req.set('X-Forwarded-Proto', proto);
    return req;
  };

  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(async () => api?.close());

  it('refuses visitors without a session, with the envelope', async () => {
    const res = await request(api.server).get('/admin/queues');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, error: 'Unauthorized' });
    expect(res.body.message).toMatch(/POST \/api\/auth\/board-session/);
  });

  it('refuses forged tokens and non-admin roles', async () => {
    const forged = await request(api.server).get('/admin/queues').set('Authorization', 'Bearer not.a.jwt');
    expect(forged.status).toBe(401);
    const operator = await request(api.server)
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${await loginAs(api, 'operator')}`);
    expect(operator.status).toBe(403);
    expect((await openSession(await loginAs(api, 'operator'))).status).toBe(403);
  });

  it('lets an admin in with a bearer token and lists every queue', async () => {
    const res = await request(api.server)
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${await adminToken(api)}`);
    expect(res.status).toBe(200);
    const names = (res.body.queues as { name: string }[]).map((q) => q.name).sort();
    expect(names).toEqual(['meter-command', 'meter-poll', 'meter-profile', 'meter-push']);
  });

  it('accepts no token in the URL any more, not even a valid admin token', async () => {
    const res = await request(api.server).get(`/admin/queues?token=${await adminToken(api)}`);
    expect(res.status).toBe(400);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.body.message).toMatch(/not accepted in URLs/);
  });

  it('opens a 15-minute board session: an HttpOnly, SameSite=Strict cookie for the board path only', async () => {
    const res = await openSession(await adminToken(api));
    expect(res.status).toBe(200);
    expect(res.body.data.path).toBe('/admin/queues');
    const minutes = (Date.parse(res.body.data.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);
    const { pair, attributes } = boardCookie(res);
    expect(attributes).toMatch(/; Path=\/admin\/queues(;|$)/);
    expect(attributes).toMatch(/; Max-Age=900(;|$)/);
    expect(attributes).toMatch(/; HttpOnly(;|$)/);
    expect(attributes).toMatch(/; SameSite=Strict(;|$)/);
    // Plain http without a trusted proxy: Secure would make the browser drop the cookie.
    expect(attributes).not.toMatch(/Secure/);

    const page = await request(api.server).get('/admin/queues').set('Cookie', pair);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<html/i);
    const queues = await request(api.server).get('/admin/queues/api/queues').set('Cookie', pair);
    expect(queues.status).toBe(200);
  });

  it('a board session is not an API token', async () => {
    const { pair } = boardCookie(await openSession(await adminToken(api)));
    const session = pair.split('=')[1];
    const res = await request(api.server).get('/api/auth/me').set('Authorization', `Bearer ${session}`);
    expect(res.status).toBe(401);
  });

  it('ends when the admin is deactivated, and on logout the cookie is cleared', async () => {
    const other = await createUser(api, 'admin');
    const { pair } = boardCookie(await openSession(other.token));
    expect((await request(api.server).get('/admin/queues').set('Cookie', pair)).status).toBe(200);

    const logout = await request(api.server)
      .delete('/api/auth/board-session')
      .set('Authorization', `Bearer ${other.token}`);
    expect(logout.status).toBe(200);
    const cleared = boardCookie(logout).attributes;
    expect(cleared).toMatch(/^hes_board_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(cleared).toMatch(/; Path=\/admin\/queues(;|$)/);

    await request(api.server)
      .patch(`/api/users/${other.id}`)
      .set('Authorization', `Bearer ${await adminToken(api)}`)
      .send({ isActive: false })
      .expect(200);
    expect((await request(api.server).get('/admin/queues').set('Cookie', pair)).status).toBe(401);
  });

  it('marks the cookie Secure when the request came over https through a trusted proxy only', async () => {
    expect(boardCookie(await openSession(await adminToken(api), 'https')).attributes).not.toMatch(/Secure/);
    const proxied = await createTestApi({ TRUST_PROXY: 'loopback' });
    try {
      const res = await request(proxied.server)
        .post('/api/auth/board-session')
        .set('Authorization', `Bearer ${await adminToken(proxied)}`)
        .set('X-Forwarded-Proto', 'https');
      expect(res.status).toBe(200);
      expect(boardCookie(res).attributes).toMatch(/; Secure(;|$)/);
    } finally {
      await proxied.close();
    }
  });
});
