import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { adminToken, createScratchDatabase, createTestApi, TestApi } from '@app/testing';

describe('api errors, limits and bootstrap', () => {
  let api: TestApi;
  let admin: string;

  beforeAll(async () => {
    api = await createTestApi();
    admin = await adminToken(api);
  });
  afterAll(() => api?.close());

  it('serves health publicly', async () => {
    const res = await request(api.server).get('/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { status: 'ok', database: 'up', redis: 'up', queues: 'up' },
    });
  });

  it('answers an unknown route with the 404 envelope', async () => {
    const res = await request(api.server).get('/api/no-such-thing').set('Authorization', `Bearer ${admin}`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, error: 'Not Found' });
    expect(typeof res.body.message).toBe('string');
  });

  it('answers malformed JSON with 400 in the envelope', async () => {
    const res = await request(api.server)
      .post('/api/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"username": "admin", "password": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      message: 'Request body is not valid JSON',
      error: 'Bad Request',
    });
  });

  it('refuses JSON bodies over 1 MB with 413 and accepts ones just under it', async () => {
    const big = JSON.stringify({ brand: 'x'.repeat(1024 * 1024 + 10) });
    const res = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${admin}`)
      .set('Content-Type', 'application/json')
      .send(big);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      success: false,
      message: 'Request body is larger than the 1 MB limit',
      error: 'Payload Too Large',
    });

    const underLimit = JSON.stringify({ brand: 'x'.repeat(1000 * 1000) });
    const ok = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${admin}`)
      .set('Content-Type', 'application/json')
      .send(underLimit);
    expect(ok.status).toBe(400); // parsed, then refused by validation (brand too long, fields missing)
    expect(ok.body.message).toMatch(/brand must be shorter than or equal to 64 characters/);
  });

  it('refuses urlencoded bodies over 1 MB with 413', async () => {
    const res = await request(api.server)
      .post('/api/auth/login')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`username=admin&password=${'x'.repeat(1024 * 1024 + 10)}`);
    expect(res.status).toBe(413);
    expect(res.body.success).toBe(false);
  });

  it('lists every validation problem in a 400', async () => {
    const res = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${admin}`)
      .send({ meterNumber: 'bad number!', port: 0, hacker: true });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error).toBe('Bad Request');
    expect(res.body.message).toMatch(/^Invalid input: /);
    expect(res.body.details).toEqual(
      expect.arrayContaining([
        'property hacker should not exist',
        'meterNumber must be 1-32 letters, digits, "-" or "_"',
        'port must not be less than 1',
        'meterType must be one of the following values: single-phase, three-phase, prepaid, postpaid',
      ]),
    );
    for (const problem of res.body.details) expect(res.body.message).toContain(problem);
  });

  it('serves the OpenAPI document and Swagger UI at /api/docs', async () => {
    const ui = await request(api.server).get('/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
    const doc = await request(api.server).get('/api/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/login',
        '/api/meters',
        '/api/meters/{id}',
        '/api/meters/batch/enable-all-online',
        '/api/meters/batch/configure-online',
        '/api/areas',
        '/api/users',
      ]),
    );
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.body.components.schemas.CreateMeterDto.required).toEqual(
      expect.arrayContaining(['meterNumber', 'meterType', 'brand', 'model', 'area']),
    );
  });

  it('allows the configured CORS origins only', async () => {
    const corsApi = await createTestApi({ CORS_ORIGINS: 'http://ui.example' });
    try {
      const allowed = await request(corsApi.server)
        .options('/api/meters')
        .set('Origin', 'http://ui.example')
        .set('Access-Control-Request-Method', 'GET');
      expect(allowed.headers['access-control-allow-origin']).toBe('http://ui.example');
      const other = await request(corsApi.server)
        .options('/api/meters')
        .set('Origin', 'http://evil.example')
        .set('Access-Control-Request-Method', 'GET');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await corsApi.close();
    }
  });

  it('never combines CORS_ORIGINS=* with credentials, over HTTP and Socket.IO', async () => {
    const anyApi = await createTestApi({ CORS_ORIGINS: '*' });
    try {
      const preflight = await request(anyApi.server)
        .options('/api/meters')
        .set('Origin', 'http://evil.example')
        .set('Access-Control-Request-Method', 'GET');
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
      const polling = await request(anyApi.server)
        .get('/socket.io/?EIO=4&transport=polling')
        .set('Origin', 'http://evil.example');
      expect(polling.headers['access-control-allow-origin']).toBe('*');
      expect(polling.headers['access-control-allow-credentials']).toBeUndefined();
    } finally {
      await anyApi.close();
    }
  });

  describe('an unexpected failure (the meters table is gone)', () => {
    it('answers 500 with a correlation id, logs it with the stack, and leaks nothing', async () => {
      const db = await createScratchDatabase();
      const broken = await createTestApi({ DATABASE_URL: db.url });
      const logged = jest.spyOn(Logger.prototype, 'error');
      try {
        const token = await adminToken(broken);
        const client = new Client({ connectionString: db.url });
        await client.connect();
        await client.query('drop table meters cascade');
        await client.end();

        const res = await request(broken.server).get('/api/meters').set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(500);
        expect(Object.keys(res.body).sort()).toEqual(['correlationId', 'error', 'message', 'success']);
        expect(res.body).toMatchObject({
          success: false,
          message: 'Internal server error',
          error: 'Internal Server Error',
        });
        expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.text).not.toMatch(/relation "|does not exist|select |\.ts:\d/);

        const line = logged.mock.calls.find((call) => String(call[0]).includes(res.body.correlationId));
        expect(line).toBeDefined();
        expect(String(line![0])).toMatch(/GET \/api\/meters/);
        expect(String(line![1])).toMatch(/relation "meters" does not exist[\s\S]*\n\s+at /);
      } finally {
        logged.mockRestore();
        await broken.close();
        await db.drop();
      }
    });
  });
});
