/**
 * Operators' status changes (PATCH /api/meters/:id, the batch endpoints) are recorded in meter_events and
 * published as meter-status-change by the api's own publisher, like the workers' polling changes: real
 * api instances (in-process), real PostgreSQL and Redis, real Socket.IO clients.
 */
import { MeterStatusChangeEvent, ROOMS } from '@app/contracts';
import { PG_POOL } from '@app/database';
import { adminToken, createTestApi, loginAs, TestApi } from '@app/testing';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { connectClient, EventRecorder, joinRoom, sleep } from './realtime-helpers';

interface TestMeter {
  id: string;
  meterNumber: string;
}

interface EventRow {
  event_type: string;
  previous_status: string;
  status: string;
  reason: string;
}

describe('operator status changes: meter_events and meter-status-change', () => {
  let api: TestApi;
  let other: TestApi;
  let pool: Pool;
  let admin: string;
  let operator: string;
  let viewer: string;
  let areaId: string;
  let marker: TestMeter;
  let markerStatus: 'active' | 'faulty' = 'active';
  let suiteStartedAt: Date;
  const sockets: Socket[] = [];

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const watch = async (target: TestApi, ...rooms: string[]) => {
    const socket = await connectClient(target.baseUrl, { token: viewer });
    sockets.push(socket);
    for (const room of rooms) expect((await joinRoom(socket, room)).success).toBe(true);
    return new EventRecorder(socket);
  };

  async function createMeter(status: string, overrides: Record<string, unknown> = {}): Promise<TestMeter> {
    const meterNumber = `OSC-${randomBytes(4).toString('hex')}`;
    const res = await request(api.server)
      .post('/api/meters')
      .set(auth(admin))
      .send({
        meterNumber,
        meterType: 'single-phase',
        brand: 'sim',
        model: 'S1',
        area: areaId,
        status,
        ...overrides,
      });
    expect(res.status).toBe(201);
    return { id: res.body.data.id, meterNumber };
  }

  async function eventsOf(meterId: string): Promise<EventRow[]> {
    const { rows } = await pool.query<EventRow>(
      'select event_type, previous_status, status, reason from meter_events where meter_id = $1 order by id',
      [meterId],
    );
    return rows;
  }

  /**
   * Changes the marker meter's status and waits until the fleet watcher has its event: the api publishes
   * on one Redis connection, so anything published before it has arrived by then.
   */
  async function flush(fleet: EventRecorder): Promise<void> {
    markerStatus = markerStatus === 'active' ? 'faulty' : 'active';
    const expected = markerStatus;
    const before = fleet.statusesOf(marker.id).length;
    const res = await request(api.server)
      .patch(`/api/meters/${marker.id}`)
      .set(auth(operator))
      .send({ status: expected });
    expect(res.status).toBe(200);
    await fleet.waitFor(
      () =>
        fleet
          .statusesOf(marker.id)
          .slice(before)
          .some((e) => e.status === expected),
      10_000,
      'marker status change',
    );
    await sleep(100);
  }

  beforeAll(async () => {
    api = await createTestApi();
    other = await createTestApi();
    pool = api.app.get<Pool>(PG_POOL);
    suiteStartedAt = (await pool.query<{ now: Date }>('select now()')).rows[0].now;
    admin = await adminToken(api);
    operator = await loginAs(api, 'operator');
    viewer = await loginAs(api, 'viewer');
    const code = `OSC-${randomBytes(3).toString('hex')}`;
    const area = await request(api.server)
      .post('/api/areas')
      .set(auth(admin))
      .send({ name: `Status changes ${code}`, code });
    expect(area.status).toBe(201);
    areaId = area.body.data.id;
    marker = await createMeter('active');
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    // Retire this suite's meters so that later suites' workers find none of them to poll.
    await pool?.query('update meters set deleted_at = now() where deleted_at is null and created_at >= $1', [
      suiteStartedAt,
    ]);
    await other?.close();
    await api?.close();
  });

  it('PATCH to warehouse: one event per watcher (meter, area, fleet rooms; both api instances) and a row', async () => {
    const meter = await createMeter('active');
    const fleet = await watch(api, ROOMS.fleet);
    const inMeterRoom = await watch(api, ROOMS.meter(meter.id));
    const everywhere = await watch(api, ROOMS.meter(meter.id), ROOMS.area(areaId), ROOMS.fleet);
    const fleetOnOther = await watch(other, ROOMS.fleet);

    const res = await request(api.server)
      .patch(`/api/meters/${meter.meterNumber}`)
      .set(auth(operator))
      .send({ status: 'warehouse' });
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe('warehouse');

    const expected: MeterStatusChangeEvent = {
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      status: 'warehouse',
      previousStatus: 'active',
      reason: 'set by test-operator',
      lastSeen: null,
      timestamp: expect.any(String),
    };
    for (const watcher of [fleet, inMeterRoom, everywhere, fleetOnOther]) {
      await watcher.waitFor(() => watcher.statusesOf(meter.id).length >= 1, 10_000, 'status change');
    }
    await flush(fleet);
    await fleetOnOther.waitFor(() => fleetOnOther.statusesOf(marker.id).length >= 1, 10_000, 'marker');
    for (const watcher of [fleet, inMeterRoom, everywhere, fleetOnOther]) {
      expect(watcher.statusesOf(meter.id)).toEqual([expected]);
    }
    expect(inMeterRoom.statuses).toHaveLength(1); // nothing of other meters in a meter's room
    expect(Date.parse(fleet.statusesOf(meter.id)[0].timestamp)).not.toBeNaN();
    expect(await eventsOf(meter.id)).toEqual([
      {
        event_type: 'status-change',
        previous_status: 'active',
        status: 'warehouse',
        reason: 'set by test-operator',
      },
    ]);

    // Seen by both instances' delivery monitors like a worker's messages: nothing lost, nothing repeated.
    for (const target of [api, other]) {
      const stats = await request(target.server).get('/api/realtime/stats').set(auth(admin));
      expect(stats.status).toBe(200);
      expect(stats.body.data).toMatchObject({ lost: 0, duplicates: 0 });
    }
  });

  it('a PATCH that does not change the status (or fails) records and publishes nothing', async () => {
    const meter = await createMeter('warehouse');
    const taken = await createMeter('warehouse');
    const fleet = await watch(api, ROOMS.fleet);
    const same = await request(api.server)
      .patch(`/api/meters/${meter.id}`)
      .set(auth(operator))
      .send({ status: 'warehouse', brand: 'other' });
    expect(same.status).toBe(200);
    expect(same.body.data.brand).toBe('other');
    const noStatus = await request(api.server)
      .patch(`/api/meters/${meter.id}`)
      .set(auth(operator))
      .send({ model: 'S2' });
    expect(noStatus.status).toBe(200);
    // a status change in a request that fails (duplicate meter number): rolled back, never published
    const failed = await request(api.server)
      .patch(`/api/meters/${meter.id}`)
      .set(auth(operator))
      .send({ status: 'faulty', meterNumber: taken.meterNumber });
    expect(failed.status).toBe(409);
    expect(
      (await request(api.server).get(`/api/meters/${meter.id}`).set(auth(viewer))).body.data.status,
    ).toBe('warehouse');

    await flush(fleet);
    expect(fleet.statusesOf(meter.id)).toEqual([]);
    expect(await eventsOf(meter.id)).toEqual([]);
  });

  it('configure-online for 3 meters of which 2 change status: 2 events and 2 rows', async () => {
    const active = await createMeter('active');
    const parked = await createMeter('warehouse');
    // already online at the default address: matched, not modified
    const online = await createMeter('online');
    const fleet = await watch(api, ROOMS.fleet);
    const area = await watch(api, ROOMS.area(areaId));

    const res = await request(api.server)
      .post('/api/meters/batch/configure-online')
      .set(auth(operator))
      .send({ meterIds: [active.id, parked.meterNumber, online.id] });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ matchedCount: 3, modifiedCount: 2 });

    await flush(fleet);
    const reason = 'configured online by test-operator';
    for (const watcher of [fleet, area]) {
      const ours = watcher.statuses
        .map((s) => s.event)
        .filter((e) => [active.id, parked.id, online.id].includes(e.meterId));
      expect(ours).toHaveLength(2);
      expect(ours.map((e) => [e.meterNumber, e.previousStatus, e.status, e.reason]).sort()).toEqual(
        [
          [active.meterNumber, 'active', 'online', reason],
          [parked.meterNumber, 'warehouse', 'online', reason],
        ].sort(),
      );
    }
    expect(await eventsOf(active.id)).toEqual([
      { event_type: 'status-change', previous_status: 'active', status: 'online', reason },
    ]);
    expect(await eventsOf(parked.id)).toEqual([
      { event_type: 'status-change', previous_status: 'warehouse', status: 'online', reason },
    ]);
    expect(await eventsOf(online.id)).toEqual([]);

    // all or nothing: an unknown reference changes, records and publishes nothing
    const refused = await request(api.server)
      .post('/api/meters/batch/configure-online')
      .set(auth(operator))
      .send({ meterIds: [active.id, 'NO-SUCH-METER'], status: 'faulty' });
    expect(refused.status).toBe(404);
    await flush(fleet);
    expect(fleet.statusesOf(active.id)).toHaveLength(1);
    expect(await eventsOf(active.id)).toHaveLength(1);
  });

  it('enable-all-online: each meter whose status changes gets its row and its event', async () => {
    const active = await createMeter('active');
    const parked = await createMeter('warehouse'); // lifecycle state: left alone
    const fleet = await watch(api, ROOMS.fleet);
    const res = await request(api.server)
      .post('/api/meters/batch/enable-all-online')
      .set(auth(admin))
      .send({});
    expect(res.status).toBe(200);

    await flush(fleet);
    expect(fleet.statusesOf(active.id)).toEqual([
      expect.objectContaining({
        previousStatus: 'active',
        status: 'online',
        reason: 'configured online by admin',
      }),
    ]);
    expect(fleet.statusesOf(parked.id)).toEqual([]);
    expect(await eventsOf(active.id)).toEqual([
      {
        event_type: 'status-change',
        previous_status: 'active',
        status: 'online',
        reason: 'configured online by admin',
      },
    ]);
    expect(await eventsOf(parked.id)).toEqual([]);
  });
});
