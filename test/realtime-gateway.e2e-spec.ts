/**
 * The Socket.IO gateway against a real api (in-process, real PostgreSQL and Redis) and events published
 * through the Redis stream by the workers' (and api's) own MeterEventsPublisher: handshake authentication
 * (issue 5, test 1), room checks and isolation (test 5), exactly-once and in-order delivery, and loss
 * detection. Reconnecting clients (connection state recovery) are in realtime-recovery.e2e-spec.ts.
 * The worker-fed suites (real polling of the simulator) are in realtime-polling.e2e-spec.ts.
 */
import {
  encodeRealtimeEntry,
  MeterReadingUpdateEvent,
  MeterStatusChangeEvent,
  realtimeEntryFields,
  realtimeRedisNames,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { adminToken, createTestApi, createUser, loginAs, TEST_JWT_SECRET, TestApi } from '@app/testing';
import { JwtService } from '@nestjs/jwt';
import Redis from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { Pool } from 'pg';
import request from 'supertest';
import { MAX_ROOMS_PER_SOCKET, RealtimeGateway } from '../apps/api/src/realtime/realtime.gateway';
import {
  connectClient,
  connectRefusal,
  emitWithAck,
  EventRecorder,
  eventually,
  joinRoom,
  sleep,
} from './realtime-helpers';
import { startTestPublisher, untilReceivingLiveEvents } from './realtime-stack';

interface TestMeter {
  id: string;
  meterNumber: string;
  areaId: string;
}

function readingEvent(meter: TestMeter, n: number): MeterReadingUpdateEvent {
  return {
    meterId: meter.id,
    meterNumber: meter.meterNumber,
    readingType: 'scheduled',
    communicationStatus: 'success',
    readings: [
      {
        obisCode: '1-0:1.8.0.255',
        name: 'Active energy import',
        rawValue: n,
        scaler: 0,
        unit: 'kWh',
        value: n,
        quality: 'good',
      },
    ],
    responseTime: 5,
    timestamp: new Date().toISOString(),
  };
}

function statusEvent(meter: TestMeter, status: 'online' | 'offline'): MeterStatusChangeEvent {
  return {
    meterId: meter.id,
    meterNumber: meter.meterNumber,
    status,
    previousStatus: status === 'online' ? 'offline' : 'online',
    reason: 'test',
    lastSeen: null,
    timestamp: new Date().toISOString(),
  };
}

describe('realtime gateway (handshake, rooms, delivery through Redis)', () => {
  let api: TestApi;
  let admin: string;
  let viewer: string;
  let publisher: MeterEventsPublisher;
  let areaId: string;
  let otherAreaId: string;
  let meterA: TestMeter;
  let meterB: TestMeter;
  const sockets: Socket[] = [];

  const track = (s: Socket) => (sockets.push(s), s);
  const connect = async (token: string) => track(await connectClient(api.baseUrl, { token }));

  async function createArea(): Promise<string> {
    const code = `RT-${randomBytes(3).toString('hex')}`;
    const res = await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: `Realtime ${code}`, code });
    expect(res.status).toBe(201);
    return res.body.data.id;
  }

  async function createMeter(area: string): Promise<TestMeter> {
    const meterNumber = `RT-${randomBytes(4).toString('hex')}`;
    // warehouse: never polled, so nothing but this suite's own events reaches the rooms.
    const res = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${admin}`)
      .send({ meterNumber, meterType: 'single-phase', brand: 'sim', model: 'S1', area, status: 'warehouse' });
    expect(res.status).toBe(201);
    return { id: res.body.data.id, meterNumber, areaId: area };
  }

  async function stats(): Promise<Record<string, number>> {
    const res = await request(api.server).get('/api/realtime/stats').set('Authorization', `Bearer ${admin}`);
    expect(res.status).toBe(200);
    return res.body.data;
  }

  beforeAll(async () => {
    api = await createTestApi();
    admin = await adminToken(api);
    viewer = await loginAs(api, 'viewer');
    areaId = await createArea();
    otherAreaId = await createArea();
    meterA = await createMeter(areaId);
    meterB = await createMeter(otherAreaId);
    publisher = await startTestPublisher(api.env.QUEUE_PREFIX ?? 'hes');
    await untilReceivingLiveEvents([api.baseUrl], admin, api.env.QUEUE_PREFIX ?? 'hes');
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    await publisher?.onApplicationShutdown();
    await api?.close();
  });

  describe('handshake (test 1)', () => {
    const jwt = new JwtService({ secret: TEST_JWT_SECRET });

    it('accepts a valid token in auth: { token } and in an Authorization: Bearer header', async () => {
      const viaAuth = await connect(viewer);
      expect(viaAuth.connected).toBe(true);
      const viaHeader = track(
        await connectClient(api.baseUrl, { headers: { Authorization: `Bearer ${viewer}` } }),
      );
      expect(viaHeader.connected).toBe(true);
      // the seed guide's default transports (long-polling first, then upgrade) work too
      const polling = track(
        await connectClient(api.baseUrl, { token: viewer, transports: ['polling', 'websocket'] }),
      );
      expect((await joinRoom(polling, ROOMS.fleet)).success).toBe(true);
    });

    it('refuses a connection without a token', async () => {
      const err = await connectRefusal(api.baseUrl);
      expect(err.message).toBe('unauthorized');
      expect(err.data?.message).toMatch(/missing token/i);
    });

    it('refuses a malformed token and a token signed with another secret', async () => {
      const garbage = await connectRefusal(api.baseUrl, { token: 'not-a-jwt' });
      expect(garbage.message).toBe('unauthorized');
      const claims = JSON.parse(Buffer.from(viewer.split('.')[1], 'base64url').toString());
      const forged = await new JwtService({ secret: 'another-secret-that-is-long-enough-000000' }).signAsync({
        sub: claims.sub,
        username: claims.username,
        role: 'admin',
      });
      const refused = await connectRefusal(api.baseUrl, { token: forged });
      expect(refused.message).toBe('unauthorized');
      const viaHeader = await connectRefusal(api.baseUrl, { headers: { Authorization: `Bearer ${forged}` } });
      expect(viaHeader.message).toBe('unauthorized');
    });

    it('refuses an expired token', async () => {
      const claims = JSON.parse(Buffer.from(viewer.split('.')[1], 'base64url').toString());
      const now = Math.floor(Date.now() / 1000);
      const expired = await jwt.signAsync({
        sub: claims.sub,
        username: claims.username,
        role: claims.role,
        iat: now - 120,
        exp: now - 60,
      });
      const err = await connectRefusal(api.baseUrl, { token: expired });
      expect(err.message).toBe('unauthorized');
      expect(err.data?.message).toMatch(/expired/i);
    });

    it("refuses a deactivated user's new sockets and cuts off the open ones", async () => {
      const user = await createUser(api, 'viewer');
      const open = await connect(user.token);
      const disconnected = new Promise<string>((resolve) => open.once('disconnect', resolve));
      const res = await request(api.server)
        .patch(`/api/users/${user.id}`)
        .set('Authorization', `Bearer ${admin}`)
        .send({ isActive: false });
      expect(res.status).toBe(200);

      const err = await connectRefusal(api.baseUrl, { token: user.token });
      expect(err.message).toBe('unauthorized');
      expect(err.data?.message).toMatch(/deactivated/i);

      // The periodic re-check (every 30 s) is run now rather than waited for.
      const gateway = api.app.get(RealtimeGateway) as unknown as { reverifySessions(): Promise<void> };
      await gateway.reverifySessions();
      expect(await disconnected).toBe('io server disconnect');
    });
    it('disconnects a socket when its token expires', async () => {
      const claims = JSON.parse(Buffer.from(viewer.split('.')[1], 'base64url').toString());
      const shortLived = await jwt.signAsync(
        { sub: claims.sub, username: claims.username, role: claims.role, tv: claims.tv },
        { expiresIn: 2 },
      );
      const socket = await connect(shortLived);
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      const gateway = api.app.get(RealtimeGateway) as unknown as { reverifySessions(): Promise<void> };
      await gateway.reverifySessions();
      expect(socket.connected).toBe(true);
      await sleep(2100);
      await gateway.reverifySessions();
      expect(await disconnected).toBe('io server disconnect');
    });
  });

  describe('rooms (test 5)', () => {
    it('joins existing meter, area and fleet rooms, with an acknowledgement', async () => {
      const client = await connect(viewer);
      expect(await joinRoom(client, ROOMS.meter(meterA.id))).toEqual({
        success: true,
        message: `Joined room ${ROOMS.meter(meterA.id)}`,
        room: ROOMS.meter(meterA.id),
      });
      expect((await joinRoom(client, ROOMS.area(areaId))).success).toBe(true);
      expect((await joinRoom(client, ROOMS.fleet)).success).toBe(true);
      // ids are case-insensitive; the canonical room is joined
      const upper = await joinRoom(client, `meter-${meterB.id.toUpperCase()}`);
      expect(upper).toMatchObject({ success: true, room: ROOMS.meter(meterB.id) });
      expect(await emitWithAck(client, WS_EVENTS.LEAVE_ROOM, { room: ROOMS.meter(meterB.id) })).toMatchObject(
        {
          success: true,
        },
      );
      expect(
        (await emitWithAck(client, WS_EVENTS.LEAVE_ROOM, { room: ROOMS.meter(meterB.id) })).success,
      ).toBe(false);
    });

    it('refuses unknown, deleted, malformed and internal rooms in the acknowledgement', async () => {
      const client = await connect(viewer);
      const deleted = await createMeter(areaId);
      const del = await request(api.server)
        .delete(`/api/meters/${deleted.id}`)
        .set('Authorization', `Bearer ${admin}`);
      expect(del.status).toBe(200);

      const refusals: [unknown, RegExp][] = [
        [{ room: ROOMS.meter(randomUUID()) }, /not found/],
        [{ room: ROOMS.meter(deleted.id) }, /not found/],
        [{ room: ROOMS.area(randomUUID()) }, /not found/],
        [{ room: `meter-${meterA.meterNumber}` }, new RegExp(`use "meter-${meterA.id}"`)],
        [{ room: 'meter-' }, /Unknown room/],
        [{ room: 'admins' }, /Unknown room/],
        [{ room: meterA.id }, /Unknown room/],
        [{ room: 'hes-probe' }, /Unknown room/],
        [{ room: `meter-${'x'.repeat(80)}` }, /at most/],
        [{ room: 42 }, /Expected \{ room: string \}/],
        ['meters', /Expected \{ room: string \}/],
        [null, /Expected \{ room: string \}/],
      ];
      refusals.push([{ room: client.id }, /Unknown room/]); // its own private room
      for (const [payload, message] of refusals) {
        const ack = await emitWithAck(client, WS_EVENTS.JOIN_ROOM, payload);
        expect({ payload, ack }).toEqual({
          payload,
          ack: { success: false, message: expect.stringMatching(message) },
        });
      }
    });

    it("delivers a meter's events only to its room, and nothing a client emits reaches others", async () => {
      const inA = new EventRecorder(await connect(viewer));
      const inB = new EventRecorder(await connect(viewer));
      const fleet = new EventRecorder(await connect(viewer));
      const areaOfA = new EventRecorder(await connect(viewer));
      const idle = new EventRecorder(await connect(viewer));
      expect((await joinRoom(inA.socket, ROOMS.meter(meterA.id))).success).toBe(true);
      expect((await joinRoom(inB.socket, ROOMS.meter(meterB.id))).success).toBe(true);
      expect((await joinRoom(fleet.socket, ROOMS.fleet)).success).toBe(true);
      expect((await joinRoom(areaOfA.socket, ROOMS.area(areaId))).success).toBe(true);

      // a client trying to push an event to a room: there is no relay, nobody gets it
      inB.socket.emit(WS_EVENTS.READING_UPDATE, readingEvent(meterA, -1));
      inB.socket.emit('message', { to: ROOMS.meter(meterA.id) });

      const a1 = readingEvent(meterA, 1);
      publisher.readingUpdated(a1, meterA.areaId);
      publisher.readingUpdated(readingEvent(meterB, 2), meterB.areaId);
      publisher.statusChanged(statusEvent(meterA, 'offline'), meterA.areaId);
      await inA.waitFor(() => inA.readings.length === 1 && inA.statuses.length === 1, 10_000, 'A events');
      await inB.waitFor(() => inB.readings.length === 1, 10_000, 'B reading');
      await fleet.waitFor(() => fleet.statuses.length === 1, 10_000, 'fleet status');
      await areaOfA.waitFor(() => areaOfA.statuses.length === 1, 10_000, 'area status');
      // a marker event after everything else: once it is in, nothing else is in flight
      publisher.readingUpdated(readingEvent(meterB, 3), meterB.areaId);
      await inB.waitFor(() => inB.readings.length === 2, 10_000, 'B marker');
      await sleep(200);

      expect(inA.readings.map((r) => r.event)).toEqual([a1]); // the payload exactly as published
      expect(inA.statusesOf(meterA.id).map((e) => e.status)).toEqual(['offline']);
      expect(inB.readings.map((r) => r.event.readings[0].value)).toEqual([2, 3]);
      expect(inB.statuses).toHaveLength(0);
      expect(fleet.readings).toHaveLength(0); // reading updates go to the meter's room only
      expect(fleet.statuses.map((s) => s.event.meterId)).toEqual([meterA.id]);
      expect(areaOfA.statuses.map((s) => s.event.meterId)).toEqual([meterA.id]);
      expect(areaOfA.readings).toHaveLength(0);
      expect(idle.readings.length + idle.statuses.length).toBe(0);

      // after leave-room, no more events of that meter
      expect(
        (await emitWithAck(inA.socket, WS_EVENTS.LEAVE_ROOM, { room: ROOMS.meter(meterA.id) })).success,
      ).toBe(true);
      publisher.readingUpdated(readingEvent(meterA, 4), meterA.areaId);
      publisher.readingUpdated(readingEvent(meterB, 5), meterB.areaId);
      await inB.waitFor(() => inB.readings.length === 3, 10_000, 'B after leave');
      await sleep(200);
      expect(inA.readings).toHaveLength(1);
    });
  });

  describe('delivery', () => {
    it('delivers a status change once to a client in all three of its rooms, and events in order', async () => {
      const everywhere = new EventRecorder(await connect(viewer));
      for (const room of [ROOMS.meter(meterA.id), ROOMS.area(areaId), ROOMS.fleet]) {
        expect((await joinRoom(everywhere.socket, room)).success).toBe(true);
      }
      const total = 300;
      for (let n = 1; n <= total; n++) {
        publisher.readingUpdated(readingEvent(meterA, n), meterA.areaId);
        if (n % 100 === 0)
          publisher.statusChanged(statusEvent(meterA, n % 200 === 0 ? 'online' : 'offline'), areaId);
      }
      await everywhere.waitFor(
        () => everywhere.readings.length >= total && everywhere.statuses.length >= 3,
        20_000,
        'all events',
      );
      await sleep(300);
      expect(everywhere.readings.map((r) => r.event.readings[0].value)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      expect(everywhere.statuses.map((s) => s.event.status)).toEqual(['offline', 'online', 'offline']);
      expect(publisher.stats()).toMatchObject({ dropped: 0, pending: 0 });
    });

    it('disconnects a client that stops reading, without slowing the others', async () => {
      // A second api instance with a small per-client bound (default 10,000), so a few MB fill it.
      const small = await createTestApi({ REALTIME_MAX_CLIENT_BACKLOG: '200' });
      try {
        const healthy = new EventRecorder(track(await connectClient(small.baseUrl, { token: viewer })));
        const slow = track(await connectClient(small.baseUrl, { token: viewer }));
        for (const c of [healthy.socket, slow]) {
          expect((await joinRoom(c, ROOMS.meter(meterB.id))).success).toBe(true);
        }
        const server = (
          small.app.get(RealtimeGateway) as unknown as {
            server: { sockets: { sockets: Map<string, unknown> } };
          }
        ).server;
        expect(server.sockets.sockets.has(slow.id!)).toBe(true);
        // The slow client's TCP socket stops reading: the kernel buffers (~4 MB on loopback) fill, then its
        // Socket.IO buffer.
        const tcp = (
          slow.io.engine.transport as unknown as { ws: { _socket: { pause(): void; destroy(): void } } }
        ).ws._socket;
        tcp.pause();

        const padding = 'x'.repeat(3000);
        const total = 3000;
        for (let n = 1; n <= total; n++) {
          const event = readingEvent(meterB, n);
          event.readings[0].name = padding;
          publisher.readingUpdated(event, meterB.areaId);
          if (n % 250 === 0)
            await healthy.waitFor(() => healthy.readings.length >= n - 250, 10_000, 'pacing');
        }
        await healthy.waitFor(() => healthy.readings.length >= total, 20_000, 'the healthy client keeps up');
        expect(healthy.readings.map((r) => r.event.readings[0].value)).toEqual(
          Array.from({ length: total }, (_, i) => i + 1),
        );
        // the backlog check runs every 2 s
        await eventually(
          async () => (server.sockets.sockets.has(slow.id!) ? undefined : true),
          10_000,
          'slow client cut off',
        );
        expect(publisher.stats()).toMatchObject({ dropped: 0, pending: 0 });
        // The server waits for a closing handshake the paused client never reads (ws gives up after 30 s).
        tcp.destroy();
      } finally {
        await small.close();
      }
    }, 60_000);

    it('counts events that never reached the stream reader, drops duplicates, survives malformed entries', async () => {
      const client = new EventRecorder(await connect(viewer));
      expect((await joinRoom(client.socket, ROOMS.meter(meterA.id))).success).toBe(true);
      const before = await stats();
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const { stream } = realtimeRedisNames(api.env.QUEUE_PREFIX ?? 'hes', process.env.REDIS_URL!);
        const pub = `test-${randomBytes(3).toString('hex')}`;
        const append = (fields: string[]) => redis.xadd(stream, '*', ...fields);
        const send = (seq: number, n: number) =>
          append(
            realtimeEntryFields(
              encodeRealtimeEntry(`${pub}:${seq}`, WS_EVENTS.READING_UPDATE, readingEvent(meterA, n), [
                ROOMS.meter(meterA.id),
              ]),
            ),
          );
        await send(1, 101);
        await send(2, 102);
        await send(5, 105); // 3 and 4 never arrive: a gap of 2
        await send(5, 999); // the same event again (a retried append): not delivered
        await send(4, 998); // older than the last one: not delivered
        // anyone with Redis access can append: none of these may stop the reader
        await append(['uid', `${pub}:6`, 'nsp', '/', 'type', '3', 'data', 'not json at all']);
        await append(['uid', 'x', 'nsp', '/', 'type', '3', 'data', '{"packet":null}']);
        await append(['nsp', '/', 'type', 'x']);
        await send(7, 107);
        await client.waitFor(() => client.readings.length >= 4, 10_000, 'delivered events');
        await sleep(200);
        expect(client.readings.map((r) => r.event.readings[0].value)).toEqual([101, 102, 105, 107]);
        const after = await stats();
        expect(after.lost - before.lost).toBe(3); // 3, 4 and the malformed 6
        expect(after.gaps - before.gaps).toBe(2);
        expect(after.duplicates - before.duplicates).toBe(2);
        expect(after.malformed - before.malformed).toBe(3);
        expect(after.connectedClients).toBeGreaterThanOrEqual(1);
      } finally {
        redis.disconnect();
      }
    });

    it('limits the rooms of one connection', async () => {
      // Fixture meters straight into PostgreSQL (creating 500 through the API would dominate the suite).
      const pool = new Pool({ connectionString: process.env.DATABASE_URL });
      let ids: string[];
      try {
        const prefix = `RL-${randomBytes(3).toString('hex')}`;
        const { rows } = await pool.query<{ id: string }>(
          `insert into meters (meter_number, meter_type, brand, model, area_id, status)
           select $1 || '-' || g, 'single-phase', 'sim', 'S1', $2, 'warehouse'
           from generate_series(1, $3::int) g returning id`,
          [prefix, areaId, MAX_ROOMS_PER_SOCKET + 1],
        );
        ids = rows.map((r) => r.id);
      } finally {
        await pool.end();
      }
      const client = await connect(viewer);
      const acks = [];
      // at most 8 checks of one connection run at once (more are refused), so join 8 at a time
      for (let i = 0; i < MAX_ROOMS_PER_SOCKET; i += 8) {
        const batch = ids.slice(i, Math.min(i + 8, MAX_ROOMS_PER_SOCKET));
        acks.push(...(await Promise.all(batch.map((id) => joinRoom(client, ROOMS.meter(id))))));
      }
      expect(acks.filter((a) => a.success)).toHaveLength(MAX_ROOMS_PER_SOCKET);
      const over = await joinRoom(client, ROOMS.meter(ids[MAX_ROOMS_PER_SOCKET]));
      expect(over).toEqual({
        success: false,
        message: `At most ${MAX_ROOMS_PER_SOCKET} rooms per connection`,
      });
      expect((await emitWithAck(client, WS_EVENTS.LEAVE_ROOM, { room: ROOMS.meter(ids[0]) })).success).toBe(
        true,
      );
      expect((await joinRoom(client, ROOMS.meter(ids[MAX_ROOMS_PER_SOCKET]))).success).toBe(true);
    });
  });
});
