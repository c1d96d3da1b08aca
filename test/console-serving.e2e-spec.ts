/**
 * The api serves the operator console at / (CONSOLE_DIR), with client-side routes answered by index.html,
 * and never in place of the api, Socket.IO, Bull Board or metrics. A small stand-in build keeps the suite
 * independent of `npm run build`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApi, TestApi } from '@app/testing';

const INDEX = '<!doctype html><title>console</title><div id="root"></div>';

describe('operator console served by the api', () => {
  let api: TestApi;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-build-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("console")');
    api = await createTestApi({ CONSOLE_DIR: dir });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers / and client-side routes with index.html, revalidated on every load', async () => {
    for (const path of ['/', '/meters', '/meters/MTR-001', '/users']) {
      const res = await request(api.server).get(path).set('Accept', 'text/html');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets with a long cache, and a missing asset is a 404, not a page', async () => {
    const asset = await request(api.server).get('/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    const missing = await request(api.server).get('/assets/index-old.js').set('Accept', '*/*');
    expect(missing.status).toBe(404);
  });

  it('never answers for /api, /socket.io, /admin/queues or /metrics', async () => {
    const unknownApi = await request(api.server).get('/api/nothing-here').set('Accept', 'text/html');
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.body).toMatchObject({ success: false });
    const health = await request(api.server).get('/api/health/live').set('Accept', 'text/html');
    expect(health.headers['content-type']).toMatch(/json/);
    const board = await request(api.server).get('/admin/queues').set('Accept', 'text/html');
    expect(board.status).toBe(401);
    const socket = await request(api.server).get('/socket.io/?EIO=4&transport=polling');
    expect(socket.text).not.toContain('<!doctype html>');
    const metrics = await request(api.server).get('/metrics').set('Accept', 'text/html');
    expect(metrics.text).not.toBe(INDEX);
  });

  it('answers only GET and HEAD with the page', async () => {
    const post = await request(api.server).post('/meters').set('Accept', 'text/html').send({});
    expect(post.status).toBe(404);
  });
});
