/**
 * Pushing fleets end to end: the simulator's meters pushing signed readings (--push, shortened interval)
 * and raising alarms (power-off fault, control API), and the seed system's own mode (10 meters posting
 * POST /api/meters/data-ingestion, here every 500 ms instead of 30 s). Real api, worker process,
 * PostgreSQL, Redis and Socket.IO.
 */
import { adminToken, createTestApi, StartedProcess, TestApi } from '@app/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { RunningSimulator, startSimulator } from '../apps/simulator/src';
import {
  configureOnlineAtGateway,
  connectDb,
  pollingEnv,
  registerMeters,
  retireMeters,
  startWorker,
  waitFor,
} from './polling-helpers';
import { freePort, issuePushSecret } from './push-helpers';
import { connectClient, EventRecorder, joinRoom, sleep } from './realtime-helpers';

const INGESTION_KEY = 'seed-ingestion-key-0123456789';

describe('pushing fleets: the simulator and the seed system mode', () => {
  const prefix = `pushsim-${randomBytes(3).toString('hex')}`;
  const env = pollingEnv(prefix, { METER_INGESTION_KEY: INGESTION_KEY });
  let api: TestApi;
  let worker: StartedProcess;
  let sim: RunningSimulator;
  let db: Client;
  let admin: string;
  let ids: Map<string, string>;
  const sockets: Socket[] = [];

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const pushReadsOf = async (meterIds: string[]) =>
    (
      await db.query<{ meter_id: string; n: number }>(
        "select meter_id, count(*)::int as n from meter_reads where meter_id = any($1::uuid[]) and reading_type = 'push' group by meter_id",
        [meterIds],
      )
    ).rows;

  beforeAll(async () => {
    db = await connectDb();
    const port = await freePort();
    api = await createTestApi({ ...env, PUSH_PORT: String(port) });
    sim = await startSimulator({
      meters: 10,
      prefix: `PS${randomBytes(2).toString('hex')}`,
      push: { url: `http://127.0.0.1:${port}`, intervalMs: 1000 },
    });
    worker = await startWorker(env);
    admin = await adminToken(api);
    ids = await registerMeters(api, admin, `PS-${randomBytes(3).toString('hex')}`, sim.meters);
    await configureOnlineAtGateway(api, admin, [...ids.values()], sim);
  }, 120_000);

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    if (ids) await retireMeters(db, [...ids.values()]);
    await sim?.stop();
    await worker?.stop();
    await api?.close();
    await db?.end();
  });

  it('simulated meters push signed readings once given their secret, and they are stored as push reads', async () => {
    const meterIds = [...ids.values()];
    expect(await pushReadsOf(meterIds)).toEqual([]);
    for (const m of sim.meters) {
      const secret = await issuePushSecret(api.server, admin, m.meterNumber);
      const res = await request(sim.controlUrl).put(`/meters/${m.meterNumber}/push-secret`).send({ secret });
      expect(res.status).toBe(200);
    }
    await waitFor(
      'two pushed reads of each of the 10 meters',
      async () => {
        const rows = await pushReadsOf(meterIds);
        return rows.length === 10 && rows.every((r) => r.n >= 2);
      },
      30_000,
    );
    const counters = (await request(sim.controlUrl).get('/push')).body as {
      refused: number;
      accepted: number;
    };
    expect(counters.refused).toBe(0);
    expect(counters.accepted).toBeGreaterThanOrEqual(20);
  });

  it('a power-off fault sends power-failure first (meter offline at once) and power-restored when it ends', async () => {
    const meter = sim.meters[0];
    const meterId = ids.get(meter.meterNumber)!;
    const socket = await connectClient(api.baseUrl, { token: admin });
    sockets.push(socket);
    expect((await joinRoom(socket, `meter-${meterId}`)).success).toBe(true);
    const watcher = new EventRecorder(socket);

    expect(
      (await request(sim.controlUrl).put(`/meters/${meter.meterNumber}/fault`).send({ mode: 'power-off' }))
        .status,
    ).toBe(200);
    // The status change is published before the alarm: wait for both.
    await watcher.waitFor(
      () => watcher.statusesOf(meterId).length >= 1 && watcher.alarms.length >= 1,
      10_000,
      'offline and the alarm',
    );
    expect(watcher.statusesOf(meterId)[0]).toMatchObject({ status: 'offline', reason: 'power failure' });
    expect(watcher.alarms.map((a) => [a.alarm, a.state])).toContainEqual(['power-failure', 'open']);
    // A meter without power pushes nothing (once a reading sent just before the power went is stored).
    await sleep(1500);
    const before = (await pushReadsOf([meterId]))[0].n;
    await sleep(2500);
    expect((await pushReadsOf([meterId]))[0].n).toBe(before);

    expect(
      (await request(sim.controlUrl).put(`/meters/${meter.meterNumber}/fault`).send({ mode: 'ok' })).status,
    ).toBe(200);
    await watcher.waitFor(
      () => watcher.alarms.some((a) => a.alarm === 'power-failure' && a.state === 'cleared'),
      10_000,
      'power failure cleared',
    );
    await waitFor('online again', async () => {
      const res = await request(api.server).get(`/api/meters/${meterId}`).set(auth(admin));
      return res.body.data.status === 'online';
    });
  });

  it('cover-open and tamper raised through the control API become alarms', async () => {
    const meter = sim.meters[1];
    for (const alarm of ['cover-open', 'tamper']) {
      const res = await request(sim.controlUrl).post(`/meters/${meter.meterNumber}/alarm`).send({ alarm });
      expect(res.body).toEqual({ status: 200 });
    }
    const list = await request(api.server)
      .get('/api/alarms')
      .query({ meter: meter.meterNumber })
      .set(auth(admin));
    expect(
      list.body.data.map((a: { alarm: string; severity: string }) => [a.alarm, a.severity]).sort(),
    ).toEqual([
      ['cover-open', 'warning'],
      ['tamper', 'critical'],
    ]);
    expect(
      (await request(sim.controlUrl).post(`/meters/${meter.meterNumber}/alarm`).send({ alarm: 'meteor' }))
        .status,
    ).toBe(400);
  });

  it("the seed system's mode: 10 meters posting data-ingestion every 500 ms are stored with OBIS codes", async () => {
    const meters = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const meterNumber = `SEED-${randomBytes(3).toString('hex')}-${i}`;
        const res = await request(api.server)
          .post('/api/meters')
          .set(auth(admin))
          .send({
            meterNumber,
            meterType: 'single-phase',
            brand: 'hexing',
            model: 'HEM',
            area: [
              ...(
                await db.query<{ area_id: string }>('select area_id from meters where id = $1', [
                  ids.get(sim.meters[0].meterNumber),
                ])
              ).rows,
            ][0].area_id,
            status: 'active',
          });
        expect(res.status).toBe(201);
        return { meterNumber, id: res.body.data.id as string };
      }),
    );
    // The seed's simulator, as it sends: named readings in kWh/kW, a tamper event on the first round.
    const seedBody = (meterNumber: string, round: number) => ({
      meterNumber,
      readings: {
        totalEnergy: 1234.5 + round,
        voltage: 230.2,
        current: 5.1,
        power: 1.2,
        frequency: 50,
        powerFactor: 0.95,
        reactiveEnergy: 10,
        apparentEnergy: 20,
        tamperStatus: {
          coverOpen: false,
          magneticTamper: false,
          reverseFlow: false,
          neutralDisturbance: false,
        },
        relayStatus: 'connected',
      },
      events:
        round === 0
          ? [
              {
                type: 'TAMPER_DETECTED',
                code: 'T01',
                severity: 'high',
                category: 'security',
                description: 'magnet',
                timestamp: new Date().toISOString(),
              },
            ]
          : [],
      timestamp: new Date(Date.now() - 1000 + round).toISOString(),
      authentication: INGESTION_KEY,
    });
    let firstBody: ReturnType<typeof seedBody> | undefined;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        meters.map((m, i) => {
          const sent = seedBody(m.meterNumber, round);
          if (round === 0 && i === 0) firstBody = sent;
          return request(api.server).post('/api/meters/data-ingestion').send(sent);
        }),
      );
      for (const a of answers) expect([a.status, a.body.success]).toEqual([200, true]);
      await sleep(500);
    }
    await waitFor(
      'three reads of each seed meter',
      async () => {
        const rows = await pushReadsOf(meters.map((m) => m.id));
        return rows.length === 10 && rows.every((r) => r.n === 3);
      },
      20_000,
    );
    const current = await request(api.server)
      .get(`/api/meters/${meters[0].id}/obis-readings`)
      .set(auth(admin));
    const values = Object.fromEntries(
      (current.body.data.readings as { obisCode: string; value: number }[]).map((r) => [r.obisCode, r.value]),
    );
    expect(values).toMatchObject({
      '1-0:15.8.0.255': 1236500, // 1236.5 kWh in Wh
      '1-0:32.7.0.255': 230.2,
      '1-0:31.7.0.255': 5.1,
      '1-0:1.7.0.255': 1200, // 1.2 kW in W
      '1-0:14.7.0.255': 50,
      '1-0:13.7.0.255': 0.95,
    });
    // A device retrying the very same body (after an error, say) gets its answer and nothing twice.
    const retried = await request(api.server).post('/api/meters/data-ingestion').send(firstBody);
    expect([retried.status, retried.body.success]).toEqual([200, true]);
    await sleep(500);
    expect((await pushReadsOf([meters[0].id]))[0].n).toBe(3);
    const tamper = await request(api.server)
      .get('/api/alarms')
      .query({ meter: meters[0].meterNumber })
      .set(auth(admin));
    expect(tamper.body.data.map((a: { alarm: string }) => a.alarm)).toEqual(['tamper']);

    const wrongKey = await request(api.server)
      .post('/api/meters/data-ingestion')
      .send({ ...seedBody(meters[0].meterNumber, 9), authentication: 'not-the-key' });
    expect([wrongKey.status, wrongKey.body.success]).toEqual([401, false]);
    const unknown = await request(api.server)
      .post('/api/meters/data-ingestion')
      .send(seedBody('NOPE-404', 9));
    expect([unknown.status, unknown.body.success]).toEqual([404, false]);
  });

  it('the seed route is off unless METER_INGESTION_KEY is set', async () => {
    const off = await createTestApi({ ...env, METER_INGESTION_KEY: '' });
    try {
      const res = await request(off.server).post('/api/meters/data-ingestion').send({
        meterNumber: sim.meters[0].meterNumber,
        timestamp: new Date().toISOString(),
        authentication: INGESTION_KEY,
      });
      expect([res.status, res.body.success]).toEqual([404, false]);
    } finally {
      await off.close();
    }
  });
});
