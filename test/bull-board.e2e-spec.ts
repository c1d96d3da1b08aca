import request from 'supertest';
import { adminToken, createTestApi, loginAs, TestApi } from '@app/testing';

describe('Bull Board at /admin/queues', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(async () => api?.close());

  it('refuses visitors without a token, with the envelope', async () => {
    const res = await request(api.server).get('/admin/queues');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, error: 'Unauthorized' });
    expect(res.body.message).toMatch(/token/);
  });

  it('refuses forged tokens and non-admin roles', async () => {
    const forged = await request(api.server).get('/admin/queues').set('Authorization', 'Bearer not.a.jwt');
    expect(forged.status).toBe(401);
    const operator = await request(api.server)
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${await loginAs(api, 'operator')}`);
    expect(operator.status).toBe(403);
  });

  it('lets an admin in with a bearer token and lists every queue', async () => {
    const res = await request(api.server)
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${await adminToken(api)}`);
    expect(res.status).toBe(200);
    const names = (res.body.queues as { name: string }[]).map((q) => q.name).sort();
    expect(names).toEqual(['meter-command', 'meter-poll', 'meter-profile']);
  });

  it('moves a query token into an HttpOnly cookie that then opens the board', async () => {
    const token = await adminToken(api);
    const first = await request(api.server).get(`/admin/queues?token=${token}`);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/admin/queues');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/hes_board_token=.+HttpOnly/);
    const page = await request(api.server).get('/admin/queues').set('Cookie', cookie.split(';')[0]);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<html/i);
  });
});
