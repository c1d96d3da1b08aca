/**
 * Meter push end to end: a real api (operators' port + push listener), a real worker process storing the
 * pushed reads, real PostgreSQL and Redis, Socket.IO clients. Signatures, their age, replays, unknown
 * meters, oversized bodies, the two ports kept apart, the per-meter rate limit; alarms and their effect
 * on the meter's status, events and acknowledgement.
 */
import { adminToken, createTestApi, loginAs, StartedProcess, TestApi } from '@app/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { connectDb, pollingEnv, retireMeters, startWorker, waitFor } from './polling-helpers';
import { freePort, issuePushSecret, push } from './push-helpers';
import { connectClient, EventRecorder, joinRoom } from './realtime-helpers';

const RATE_LIMIT = 30;

describe('meter push', () => {
  const prefix = `push-${randomBytes(3).toString('hex')}`;
  // Meters here point at a closed port: their polls fail, but never take them offline (alarms do).
  const env = pollingEnv(prefix, {
    PUSH_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
    METER_OFFLINE_AFTER_FAILURES: '100000',
  });
  let api: TestApi;
  let worker: StartedProcess;
  let db: Client;
  let pushUrl: string;
  let admin: string;
  let operator: string;
  let viewer: string;
  let areaId: string;
  const sockets: Socket[] = [];
  const created: string[] = [];

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function createMeter(
    status = 'online',
  ): Promise<{ id: string; meterNumber: string; secret: string }> {
    const meterNumber = `PSH-${randomBytes(4).toString('hex')}`;
    const res = await request(api.server).post('/api/meters').set(auth(admin)).send({
      meterNumber,
      meterType: 'single-phase',
      brand: 'sim',
      model: 'S1',
      area: areaId,
      status,
      // Nothing listens here: a poll of these meters would fail (the suite's worker polls every 2 s).
      ipAddress: '127.0.0.1',
      port: 8080,
    });
    expect(res.status).toBe(201);
    const secret = await issuePushSecret(api.server, operator, meterNumber);
    created.push(res.body.data.id as string);
    return { id: res.body.data.id as string, meterNumber, secret };
  }

  const reading = (meterNumber: string, at = new Date()) => ({
    meterNumber,
    timestamp: at.toISOString(),
    readings: [
      { obisCode: '1-0:15.8.0.255', value: 123456, unit: 'Wh', scaler: 0 },
      { obisCode: '1-0:32.7.0.255', value: 2301, unit: 'V', scaler: -1 },
    ],
  });

  /** Pushed reads of a meter (the suite's worker also polls these meters, and fails: nothing listens). */
  async function readsOf(meterId: string): Promise<{ reading_type: string; read_at: Date }[]> {
    const { rows } = await db.query(
      "select reading_type, read_at from meter_reads where meter_id = $1 and reading_type = 'push' order by read_at",
      [meterId],
    );
    return rows;
  }

  async function watch(...rooms: string[]): Promise<EventRecorder> {
    const socket = await connectClient(api.baseUrl, { token: viewer });
    sockets.push(socket);
    for (const room of rooms) expect((await joinRoom(socket, room)).success).toBe(true);
    return new EventRecorder(socket);
  }

  beforeAll(async () => {
    db = await connectDb();
    const port = await freePort();
    pushUrl = `http://127.0.0.1:${port}`;
    api = await createTestApi({ ...env, PUSH_PORT: String(port) });
    worker = await startWorker(env);
    admin = await adminToken(api);
    operator = await loginAs(api, 'operator');
    viewer = await loginAs(api, 'viewer');
    const code = `PSH-${randomBytes(3).toString('hex')}`;
    const area = await request(api.server)
      .post('/api/areas')
      .set(auth(admin))
      .send({ name: `Push ${code}`, code });
    expect(area.status).toBe(201);
    areaId = area.body.data.id;
  }, 120_000);

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    // Later suites sharing the database must not poll these meters (a closed port).
    if (db) await retireMeters(db, created);
    await worker?.stop();
    await api?.close();
    await db?.end();
  });

  it('stores a signed push like a polled read, updates the meter and publishes it', async () => {
    const meter = await createMeter();
    const watcher = await watch(`meter-${meter.id}`);
    const at = new Date(Date.now() - 1000);
    const res = await push(pushUrl, '/push/readings', reading(meter.meterNumber, at), meter.secret);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      success: true,
      data: { meterId: meter.id, communicationStatus: 'success' },
    });

    // The suite's worker also polls this meter (and fails: nothing listens): only pushed reads count here.
    const pushed = () => watcher.readingsOf(meter.id).filter((e) => e.readingType === 'push');
    await watcher
      .waitFor(() => pushed().length === 1, 20_000, 'pushed reading update')
      .catch((err: Error) => {
        // Seen once in many runs on a loaded machine: say what the worker did with the push.
        const workerLog = worker
          .output()
          .split('\n')
          .filter((l) => /push|store|ERROR|WARN/i.test(l));
        throw new Error(`${err.message}\nworker:\n${workerLog.slice(-30).join('\n')}`);
      });
    const event = pushed()[0];
    expect(event).toMatchObject({
      readingType: 'push',
      communicationStatus: 'success',
      timestamp: at.toISOString(),
    });
    expect(event.readings.map((r) => [r.obisCode, r.value])).toEqual([
      ['1-0:15.8.0.255', 123456],
      ['1-0:32.7.0.255', 230.1],
    ]);
    const reads = await readsOf(meter.id);
    expect(reads.filter((r) => r.reading_type === 'push').map((r) => r.read_at.toISOString())).toEqual([
      at.toISOString(),
    ]);

    const current = await request(api.server).get(`/api/meters/${meter.id}/obis-readings`).set(auth(viewer));
    expect(current.status).toBe(200);
    expect(JSON.stringify(current.body.data)).toContain('1-0:32.7.0.255');
    const view = await request(api.server).get(`/api/meters/${meter.id}`).set(auth(viewer));
    expect(new Date(view.body.data.lastSeen as string).getTime()).toBeGreaterThanOrEqual(at.getTime());

    // The flat format (OBIS codes as keys) is accepted too.
    const flat = {
      meterNumber: meter.meterNumber,
      timestamp: new Date().toISOString(),
      '1-0:14.7.0.255': 50.01,
    };
    expect((await push(pushUrl, '/push/readings', flat, meter.secret)).status).toBe(202);
    await watcher.waitFor(() => pushed().length === 2, 20_000, 'flat push');
  });

  it('refuses unsigned, badly signed, expired and replayed pushes and unknown meters with 401, storing nothing', async () => {
    const meter = await createMeter();
    const body = JSON.stringify(reading(meter.meterNumber));
    const now = Math.floor(Date.now() / 1000);
    const refusals = [
      await push(pushUrl, '/push/readings', body, null),
      await push(pushUrl, '/push/readings', body, null, { header: `t=${now},v1=${'0'.repeat(64)}` }),
      await push(pushUrl, '/push/readings', body, 'f'.repeat(64)),
      await push(pushUrl, '/push/readings', body, meter.secret, { t: now - 301 }),
      await push(
        pushUrl,
        '/push/readings',
        { ...reading(`NOPE-${randomBytes(3).toString('hex')}`) },
        meter.secret,
      ),
    ];
    for (const r of refusals) expect([r.status, r.body.success]).toEqual([401, false]);
    expect(refusals[3].body.message).toMatch(/expired/);

    // One signed push is accepted once; the very same request again is a replay.
    const t = now;
    expect((await push(pushUrl, '/push/readings', body, meter.secret, { t })).status).toBe(202);
    const replay = await push(pushUrl, '/push/readings', body, meter.secret, { t });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/replay/);

    // A body changed after signing does not match its signature.
    const header = (await import('../apps/api/src/push/push-signature')).signPush(meter.secret, body, t + 1);
    const tampered = body.replace('123456', '999999');
    expect((await push(pushUrl, '/push/readings', tampered, null, { header })).status).toBe(401);

    await waitFor('the accepted push stored', async () => (await readsOf(meter.id)).length === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await readsOf(meter.id)).toHaveLength(1);

    // A rotated secret replaces the old one at once.
    const rotated = await issuePushSecret(api.server, admin, meter.id);
    expect((await push(pushUrl, '/push/readings', reading(meter.meterNumber), meter.secret)).status).toBe(
      401,
    );
    expect((await push(pushUrl, '/push/readings', reading(meter.meterNumber), rotated)).status).toBe(202);
    // Viewers cannot create secrets.
    const denied = await request(api.server)
      .post(`/api/meters/${meter.id}/push-secret`)
      .set(auth(viewer))
      .send();
    expect(denied.status).toBe(403);
  });

  it('answers 413 to an oversized body and 400 to an invalid one, with the envelope', async () => {
    const meter = await createMeter();
    const huge = { ...reading(meter.meterNumber), padding: 'x'.repeat(1_100_000) };
    const tooLarge = await push(pushUrl, '/push/readings', huge, meter.secret);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.success).toBe(false);

    const invalid = await push(
      pushUrl,
      '/push/readings',
      { meterNumber: meter.meterNumber, timestamp: 'yesterday', readings: [], extra: 1 },
      meter.secret,
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toMatch(/timestamp/);
    expect(invalid.body.message).toMatch(/extra/);
    const badAlarm = await push(
      pushUrl,
      '/push/alarms',
      { meterNumber: meter.meterNumber, alarm: 'meteor-strike', timestamp: new Date().toISOString() },
      meter.secret,
    );
    expect(badAlarm.status).toBe(400);
    expect(await readsOf(meter.id)).toHaveLength(0);
  });

  it('keeps the two ports apart: no operator API on the push port, no push routes on the api port', async () => {
    expect((await request(pushUrl).get('/api/meters').set(auth(admin))).status).toBe(404);
    expect((await request(pushUrl).get('/api/docs')).status).toBe(404);
    expect((await request(api.server).post('/push/readings').send({})).status).toBe(404);
    expect((await request(api.server).post('/api/push/readings').send({})).status).toBe(404);
  });

  it('limits pushes per meter (429)', async () => {
    const meter = await createMeter();
    // The limit counts per meter and clock minute: send them all at once (they land within a second or
    // two), not in the last seconds of a minute, so that they cannot straddle two windows.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const statuses = await Promise.all(
      Array.from({ length: RATE_LIMIT + 2 }, async (_, i) => {
        const at = new Date(Date.now() - 60_000 + i * 10);
        return (await push(pushUrl, '/push/readings', reading(meter.meterNumber, at), meter.secret)).status;
      }),
    );
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
  }, 90_000);

  it('power failure takes the meter offline at once, power restored brings it back; alarms are published and acknowledged', async () => {
    const meter = await createMeter();
    const fleet = await watch('meters', `area-${areaId}`);
    const failedAt = new Date(Date.now() - 2000);
    const failure = await push(
      pushUrl,
      '/push/alarms',
      {
        meterNumber: meter.meterNumber,
        alarm: 'power-failure',
        timestamp: failedAt.toISOString(),
        details: { phase: 'L1' },
      },
      meter.secret,
    );
    expect(failure.status).toBe(200);
    const alarmId = (failure.body.data as { id: string }).id;
    expect(failure.body.data).toMatchObject({ alarm: 'power-failure', severity: 'critical', state: 'open' });

    await fleet.waitFor(
      () => fleet.statusesOf(meter.id).length === 1 && fleet.alarms.some((a) => a.alarmId === alarmId),
      10_000,
      'offline status change and alarm',
    );
    expect(fleet.statusesOf(meter.id)[0]).toMatchObject({
      previousStatus: 'online',
      status: 'offline',
      reason: 'power failure',
    });
    expect(fleet.alarms.filter((a) => a.alarmId === alarmId)).toHaveLength(1); // one delivery for two rooms
    expect(
      (await request(api.server).get(`/api/meters/${meter.id}`).set(auth(viewer))).body.data.status,
    ).toBe('offline');

    // The same alarm sent again (a retry with a fresh signature) changes nothing and publishes nothing.
    const again = await push(
      pushUrl,
      '/push/alarms',
      {
        meterNumber: meter.meterNumber,
        alarm: 'power-failure',
        timestamp: failedAt.toISOString(),
        details: { phase: 'L1' },
      },
      meter.secret,
      { t: Math.floor(Date.now() / 1000) + 1 },
    );
    expect([again.status, again.body.data]).toEqual([200, null]);

    const open = await request(api.server)
      .get('/api/alarms')
      .query({ meter: meter.meterNumber, state: 'open' })
      .set(auth(viewer));
    expect(open.status).toBe(200);
    expect(open.body.data.map((a: { id: string }) => a.id)).toEqual([alarmId]);
    expect(open.body.pagination).toMatchObject({ total: 1, page: 1 });

    expect((await request(api.server).post(`/api/alarms/${alarmId}/ack`).set(auth(viewer))).status).toBe(403);
    const ack = await request(api.server).post(`/api/alarms/${alarmId}/ack`).set(auth(operator));
    expect(ack.status).toBe(200);
    expect(ack.body.data).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'test-operator' });
    expect((await request(api.server).post(`/api/alarms/${alarmId}/ack`).set(auth(operator))).status).toBe(
      409,
    );
    await fleet.waitFor(
      () => fleet.alarms.some((a) => a.alarmId === alarmId && a.state === 'acknowledged'),
      10_000,
      'acknowledgement event',
    );

    const restored = await push(
      pushUrl,
      '/push/alarms',
      { meterNumber: meter.meterNumber, alarm: 'power-restored', timestamp: new Date().toISOString() },
      meter.secret,
    );
    expect(restored.status).toBe(200);
    await fleet.waitFor(() => fleet.statusesOf(meter.id).length === 2, 10_000, 'online status change');
    expect(fleet.statusesOf(meter.id)[1]).toMatchObject({
      previousStatus: 'offline',
      status: 'online',
      reason: 'power restored',
    });
    await fleet.waitFor(
      () => fleet.alarms.some((a) => a.alarmId === alarmId && a.state === 'cleared'),
      10_000,
      'the failure cleared',
    );
    const events = await db.query<{ previous_status: string; status: string; reason: string }>(
      "select previous_status, status, reason from meter_events where meter_id = $1 and event_type = 'status-change' order by id",
      [meter.id],
    );
    expect(events.rows).toEqual([
      { previous_status: 'online', status: 'offline', reason: 'power failure' },
      { previous_status: 'offline', status: 'online', reason: 'power restored' },
    ]);
    const cleared = await request(api.server)
      .get('/api/alarms')
      .query({ meter: meter.id, state: 'cleared' })
      .set(auth(viewer));
    expect(cleared.body.data.map((a: { alarm: string }) => a.alarm).sort()).toEqual([
      'power-failure',
      'power-restored',
    ]);
    expect(
      (await request(api.server).get('/api/alarms').query({ state: 'nope' }).set(auth(viewer))).status,
    ).toBe(400);
    expect(
      (await request(api.server).get('/api/alarms').query({ limit: 1000 }).set(auth(viewer))).status,
    ).toBe(400);
  });

  it('a meter that pushed within the interval is not polled (PUSH_SUPPRESSES_POLL)', async () => {
    const pushing = await createMeter();
    const silent = await createMeter();
    const firstPush = await push(pushUrl, '/push/readings', reading(pushing.meterNumber), pushing.secret);
    expect(firstPush.status).toBe(202);
    // From the moment the first push is stored (a tick claiming the meter before that reads it, rightly).
    await waitFor('the first push stored', async () =>
      (await readsOf(pushing.id)).some((r) => r.reading_type === 'push'),
    );
    const since = new Date();
    // Two intervals (2 s each) of pushes every 400 ms.
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 400));
      expect(
        (await push(pushUrl, '/push/readings', reading(pushing.meterNumber), pushing.secret)).status,
      ).toBe(202);
    }
    const scheduledSince = async (meterId: string) =>
      (
        await db.query<{ n: number }>(
          "select count(*)::int as n from meter_reads where meter_id = $1 and reading_type = 'scheduled' and read_at > $2",
          [meterId, since],
        )
      ).rows[0].n;
    // The meter that does not push is polled as usual meanwhile: the suite's worker is polling.
    await waitFor('the silent meter polled', async () => (await scheduledSince(silent.id)) >= 1, 10_000);
    expect(await scheduledSince(pushing.id)).toBe(0);
    expect(
      (await readsOf(pushing.id)).filter((r) => r.reading_type === 'push').length,
    ).toBeGreaterThanOrEqual(10);
  });
});
