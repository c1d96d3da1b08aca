/**
 * Issue 8, guarantee 8: live clients lose nothing on short disconnects, across api instances. A real worker
 * polls the simulator and publishes through the Redis stream; two api instances (A in-process, B a child
 * process) serve Socket.IO. A client reaches A through a network path that the test cuts (TCP connections
 * dropped, not a Socket.IO disconnect) while events keep coming, then restores, to B or A: the client
 * resumes where it stopped (connection state recovery). What it got is compared with what a client that
 * stayed connected got. The recovery window is shortened to 10 s (REALTIME_RECOVERY_WINDOW_MS; 2 minutes
 * by default) so that a reconnection after it can be tested too.
 */
import { MeterReadingUpdateEvent, MeterStatusChangeEvent, ROOMS } from '@app/contracts';
import { createUser, freeLoopbackPort, startProcess } from '@app/testing';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { RealtimeGateway } from '../apps/api/src/realtime/realtime.gateway';
import {
  connectClient,
  connectReconnectingClient,
  EventRecorder,
  joinRoom,
  NetworkPath,
  nextConnection,
  sleep,
  type Received,
} from './realtime-helpers';
import {
  realtimeStats,
  startRealtimeStackWithMeters,
  stopRealtimeStack,
  type RealtimeStack,
} from './realtime-stack';

const INTERVAL = 2000;
const RECOVERY_WINDOW_MS = 10_000;
/** Reading, storing and delivery slack on a loaded 2-core machine. */
const SLACK = 2500;

jest.setTimeout(120_000);

/** The events a client got whose timestamp is in [from, to), in arrival order, comparable across clients. */
function keysOf(recorder: EventRecorder, from: number, to: number): string[] {
  const inWindow = (r: Received<MeterReadingUpdateEvent | MeterStatusChangeEvent>) => {
    const t = Date.parse(r.event.timestamp);
    return t >= from && t < to;
  };
  const all = [
    ...recorder.readings
      .filter(inWindow)
      .map((r) => ({ at: r.seq, key: `reading ${r.event.meterId} ${r.event.timestamp}` })),
    ...recorder.statuses.filter(inWindow).map((r) => ({
      at: r.seq,
      key: `status ${r.event.meterId} ${r.event.previousStatus}>${r.event.status} ${r.event.timestamp}`,
    })),
  ];
  return all.sort((a, b) => a.at - b.at).map((e) => e.key);
}

describe('live clients lose nothing on short disconnects (connection state recovery, two api instances)', () => {
  let stack: RealtimeStack;
  let meterIds: string[];
  const sockets: Socket[] = [];
  const paths: NetworkPath[] = [];
  let numberOf: (id: string) => string;

  const track = <T extends Socket>(s: T) => (sockets.push(s), s);

  async function watcher(socket: Socket, rooms: string[]): Promise<EventRecorder> {
    const recorder = new EventRecorder(track(socket));
    for (const room of rooms) expect(await joinRoom(socket, room)).toMatchObject({ success: true, room });
    return recorder;
  }

  async function pathTo(baseUrl: string): Promise<NetworkPath> {
    const path = await NetworkPath.to(baseUrl);
    paths.push(path);
    return path;
  }

  beforeAll(async () => {
    ({ stack, meterIds, numberOf } = await startRealtimeStackWithMeters({
      // Each meter on its own loopback address, so a `dead` meter really refuses connections.
      sim: { meters: 4, addresses: '127.43.0.0/24', format: 'mixed', seed: 81, prefix: 'RTR' },
      intervalMs: INTERVAL,
      queuePrefix: 'hes-rt-recovery',
      env: { REALTIME_RECOVERY_WINDOW_MS: String(RECOVERY_WINDOW_MS) },
    }));
  }, 240_000);

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const p of paths.splice(0)) await p.close();
  });

  afterAll(async () => {
    await stopRealtimeStack(stack, meterIds);
  });

  it('a client cut off for ~6 s that reconnects to the other instance gets every event it missed, in order, once', async () => {
    const [m0, m1] = meterIds;
    const rooms = [ROOMS.fleet, ROOMS.meter(m0), ROOMS.meter(m1)];
    const steady = await watcher(await connectClient(stack.apiA.baseUrl, { token: stack.admin }), rooms);
    const path = await pathTo(stack.apiA.baseUrl);
    const roaming = await watcher(await connectReconnectingClient(path.url, stack.admin), rooms);
    await roaming.waitFor(() => roaming.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    const statsBefore = await realtimeStats(stack.apiB.baseUrl, stack.admin);
    const from = Date.now();
    await sleep(INTERVAL);

    path.cut();
    const cutAt = Date.now();
    // Meanwhile m1 stops answering (status change to offline in the fleet room) and comes back.
    await stack.sim.control.setFault(numberOf(m1), 'dead');
    await sleep(3000);
    await stack.sim.control.setFault(numberOf(m1), 'ok');
    await sleep(3000);
    const reconnected = nextConnection(roaming.socket);
    path.restore(stack.apiB.baseUrl);
    expect(await reconnected).toBe(true); // socket.recovered
    const backAt = Date.now();

    // Some more intervals live on B, then everything read before `to` has been delivered.
    await sleep(2 * INTERVAL);
    const to = Date.now();
    await sleep(SLACK);

    const expected = keysOf(steady, from, to);
    const got = keysOf(roaming, from, to);
    expect(got).toEqual(expected);
    expect(new Set(got).size).toBe(got.length);
    // The comparison covers the cut: readings of both meters and m1's status change happened meanwhile.
    const during = (r: Received<{ timestamp: string }>) => {
      const t = Date.parse(r.event.timestamp);
      return t >= cutAt && t < backAt;
    };
    expect(steady.readings.filter(during).length).toBeGreaterThanOrEqual(4);
    expect(steady.statuses.filter(during).map((s) => [s.event.meterId, s.event.status])).toContainEqual([
      m1,
      'offline',
    ]);
    const statsAfter = await realtimeStats(stack.apiB.baseUrl, stack.admin);
    expect(statsAfter.recoveredSessions - statsBefore.recoveredSessions).toBe(1);
    expect(statsAfter.recoveredEvents - statsBefore.recoveredEvents).toBeGreaterThan(0);
    expect(statsAfter.recoveryGaps).toBe(0);
  });

  it("a client alone in a meter room gets the meter's readings it missed while cut off (the meter stays watched)", async () => {
    // Nobody else watches this meter: its reading updates are published only while it counts as watched
    // (docs/realtime.md › Who gets reading updates), which must outlast the client's disconnection.
    const meterId = meterIds[3];
    const path = await pathTo(stack.apiA.baseUrl);
    const alone = await watcher(await connectReconnectingClient(path.url, stack.admin), [
      ROOMS.meter(meterId),
    ]);
    await alone.waitFor(() => alone.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    const from = Date.now();
    await sleep(INTERVAL);

    path.cut();
    const cutAt = Date.now();
    await sleep(6000);
    const reconnected = nextConnection(alone.socket);
    path.restore(stack.apiB.baseUrl);
    expect(await reconnected).toBe(true); // socket.recovered
    const backAt = Date.now();
    await sleep(INTERVAL);
    const to = Date.now();
    await sleep(SLACK);

    const { rows } = await stack.db.query<{ read_at: Date }>(
      'select read_at from meter_reads where meter_id = $1 and read_at >= $2 and read_at < $3 order by read_at',
      [meterId, new Date(from), new Date(to)],
    );
    const stored = rows.map((r) => r.read_at.toISOString());
    const between = (a: number, b: number) => (t: string) => Date.parse(t) >= a && Date.parse(t) < b;
    expect(stored.filter(between(cutAt, backAt)).length).toBeGreaterThanOrEqual(2);
    expect(
      alone
        .readingsOf(meterId)
        .map((e) => e.timestamp)
        .filter(between(from, to)),
    ).toEqual(stored);
  });

  it('an api instance stopped gracefully (rolling restart) hands its clients over to another, with what they missed', async () => {
    const port = await freeLoopbackPort();
    const apiC = await startProcess('api', {
      env: { ...stack.env, PORT: String(port), NODE_ENV: 'test', SWAGGER_ENABLED: 'false' },
      readyPattern: /api listening on port/,
      readyTimeoutMs: 120_000,
    });
    try {
      const baseUrlC = `http://127.0.0.1:${port}`;
      const rooms = [ROOMS.meter(meterIds[1]), ROOMS.meter(meterIds[2])];
      const steady = await watcher(await connectClient(stack.apiB.baseUrl, { token: stack.admin }), rooms);
      const path = await pathTo(baseUrlC);
      const moving = await watcher(await connectReconnectingClient(path.url, stack.admin), rooms);
      await moving.waitFor(() => moving.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
      const from = Date.now();
      await sleep(INTERVAL);

      const reconnected = nextConnection(moving.socket);
      await apiC.stop('SIGTERM');
      await sleep(INTERVAL); // events while no instance serves the client
      path.restore(stack.apiB.baseUrl); // the load balancer sends it elsewhere
      expect(await reconnected).toBe(true);
      await sleep(INTERVAL);
      const to = Date.now();
      await sleep(SLACK);
      const got = keysOf(moving, from, to);
      expect(got).toEqual(keysOf(steady, from, to));
      expect(got.length).toBeGreaterThanOrEqual(6);
    } finally {
      await apiC.stop('SIGKILL').catch(() => undefined);
    }
  });

  it('a client that comes back after the recovery window starts a new session, without its rooms', async () => {
    const path = await pathTo(stack.apiA.baseUrl);
    const late = await watcher(await connectReconnectingClient(path.url, stack.admin), [
      ROOMS.meter(meterIds[2]),
    ]);
    // On the instance the late client comes back to: it shows when the room's events are sent.
    const steady = await watcher(await connectClient(stack.apiB.baseUrl, { token: stack.admin }), [
      ROOMS.meter(meterIds[2]),
    ]);
    await late.waitFor(() => late.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    path.cut();
    await sleep(RECOVERY_WINDOW_MS + 2000);
    const reconnected = nextConnection(late.socket);
    path.restore(stack.apiB.baseUrl);
    expect(await reconnected).toBe(false); // socket.recovered
    const count = late.readings.length;
    // Until the room has had an event on B since it came back (the same broadcast would have reached it).
    const steadyCount = steady.readings.length;
    await steady.waitFor(() => steady.readings.length > steadyCount, INTERVAL + SLACK, 'a room event');
    await sleep(200);
    expect(late.readings.length).toBe(count); // it has to join its rooms again
    expect(await joinRoom(late.socket, ROOMS.meter(meterIds[2]))).toMatchObject({ success: true });
    await late.waitFor(() => late.readings.length > count, INTERVAL + SLACK, 'events after joining again');
  });

  it('a recovered connection passes the handshake check again: a user deactivated meanwhile gets nothing', async () => {
    const user = await createUser(stack.apiA, 'viewer');
    const path = await pathTo(stack.apiA.baseUrl);
    const cutOff = await watcher(await connectReconnectingClient(path.url, user.token), [
      ROOMS.meter(meterIds[3]),
    ]);
    await cutOff.waitFor(() => cutOff.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    path.cut();
    const count = cutOff.readings.length;
    // Every event packet that reaches the client at all, even one it would not emit before connecting.
    const eventPackets: unknown[] = [];
    cutOff.socket.io.on('packet', (packet: { type: number; data?: unknown }) => {
      if (packet.type === 2) eventPackets.push(packet.data);
    });
    const res = await request(stack.apiA.server)
      .patch(`/api/users/${user.id}`)
      .set('Authorization', `Bearer ${stack.admin}`)
      .send({ isActive: false });
    expect(res.status).toBe(200);
    await sleep(2 * INTERVAL); // events it would have missed
    const reconnected = nextConnection(cutOff.socket);
    path.restore(stack.apiB.baseUrl);
    await expect(reconnected).rejects.toMatchObject({
      message: 'unauthorized',
      data: { message: expect.stringMatching(/deactivated/i) },
    });
    await sleep(500);
    expect(cutOff.readings.length).toBe(count);
    expect(eventPackets).toEqual([]); // what it missed was not even sent
  });

  it('a recovered connection keeps only the rooms it may still join (a meter deleted meanwhile is left)', async () => {
    const { rows } = await stack.db.query<{ id: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, status)
       values ($1, 'single-phase', 'sim', 'S1', $2, 'warehouse') returning id`,
      [`RTR-DEL-${Date.now()}`, stack.areaId],
    );
    const doomed = rows[0].id;
    const path = await pathTo(stack.apiA.baseUrl);
    const client = await watcher(await connectReconnectingClient(path.url, stack.admin), [
      ROOMS.meter(meterIds[0]),
      ROOMS.meter(doomed),
    ]);
    await client.waitFor(() => client.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    path.cut();
    const res = await request(stack.apiA.server)
      .delete(`/api/meters/${doomed}`)
      .set('Authorization', `Bearer ${stack.admin}`);
    expect(res.status).toBe(200);
    const reconnected = nextConnection(client.socket);
    path.restore(); // back to A, whose sockets this test can look at
    expect(await reconnected).toBe(true);
    const server = (
      stack.apiA.app.get(RealtimeGateway) as unknown as {
        server: { sockets: { sockets: Map<string, { rooms: Set<string> }> } };
      }
    ).server;
    const roomsNow = async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const rooms = [...(server.sockets.sockets.get(client.socket.id!)?.rooms ?? [])];
        if (!rooms.includes(ROOMS.meter(doomed)) || Date.now() > deadline) return rooms;
        await sleep(50);
      }
    };
    // Besides its own id room, every socket is in its principal's room (how revocations reach it).
    const adminId = JSON.parse(Buffer.from(stack.admin.split('.')[1], 'base64url').toString()).sub as string;
    expect((await roomsNow()).sort()).toEqual(
      [client.socket.id, `user-${adminId}`, ROOMS.meter(meterIds[0])].sort(),
    );
  });

  it('a recovered connection is re-checked like any other: its token expiring cuts it off', async () => {
    const user = await createUser(stack.apiA, 'viewer');
    const claims = JSON.parse(Buffer.from(user.token.split('.')[1], 'base64url').toString());
    const { JwtService } = await import('@nestjs/jwt');
    const { TEST_JWT_SECRET } = await import('@app/testing');
    const shortLived = await new JwtService({ secret: TEST_JWT_SECRET }).signAsync(
      { sub: claims.sub, username: claims.username, role: claims.role, tv: claims.tv },
      { expiresIn: 6 },
    );
    const path = await pathTo(stack.apiA.baseUrl);
    const client = await watcher(await connectReconnectingClient(path.url, shortLived), [
      ROOMS.meter(meterIds[0]),
    ]);
    // A client resumes from the last event it got: it needs one.
    await client.waitFor(() => client.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    path.cut();
    await sleep(1000);
    const reconnected = nextConnection(client.socket);
    path.restore(); // back to A, whose periodic re-check this test can run at once
    expect(await reconnected).toBe(true);
    const disconnected = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    const gateway = stack.apiA.app.get(RealtimeGateway) as unknown as { reverifySessions(): Promise<void> };
    // Until the token has expired (its exp is in whole seconds).
    const { exp } = JSON.parse(Buffer.from(shortLived.split('.')[1], 'base64url').toString()) as {
      exp: number;
    };
    await sleep(exp * 1000 + 500 - Date.now());
    await gateway.reverifySessions();
    expect(await disconnected).toBe('io server disconnect');
  });
});
