/**
 * Live updates fed by the real worker polling the simulator (issue 5, tests 2, 3 and 4): a worker process
 * publishes through Redis; two api instances (one in-process, one a separate process on its own port)
 * deliver to their own Socket.IO clients. Values are checked against the reads stored in PostgreSQL.
 */
import {
  MeterReadingUpdateEvent,
  MeterStatus,
  MeterStatusChangeEvent,
  readRealtimeBroadcast,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import { encodeReadValues, type ReadLayout, type StoredQualities, type StoredRawValue } from '@app/database';
import { physicalValue } from '@app/obis';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { connectClient, EventRecorder, eventually, joinRoom, sleep } from './realtime-helpers';
import {
  realtimeStats,
  startRealtimeStackWithMeters,
  stopRealtimeStack,
  streamEntries,
  type RealtimeStack,
} from './realtime-stack';

const INTERVAL = 2000;
const QUEUE_PREFIX = 'hes-rt-poll';
/** Scheduling and delivery slack on a loaded 2-core machine, on top of one interval. */
const SLACK = 1500;

jest.setTimeout(120_000);

interface StoredRead {
  read_at: Date;
  reading_type: string;
  communication_status: string;
  response_time_ms: number;
  layout: ReadLayout;
  raw: StoredRawValue[];
  qualities: StoredQualities | null;
}

/** What the codec would store for an event's readings, in the shape storedRead() returns. */
function storedFormOf(readings: MeterReadingUpdateEvent['readings']) {
  const { layout, raw, qualities } = encodeReadValues(readings)!;
  return { layout, raw, qualities };
}

describe('live updates from the polling worker (two api instances)', () => {
  let stack: RealtimeStack;
  let meterIds: string[];
  const sockets: Socket[] = [];
  let numberOf: (id: string) => string;

  const client = async (baseUrl: string, rooms: string[]) => {
    const socket = await connectClient(baseUrl, { token: stack.admin });
    sockets.push(socket);
    const recorder = new EventRecorder(socket);
    for (const room of rooms) expect(await joinRoom(socket, room)).toMatchObject({ success: true, room });
    return recorder;
  };

  const storedRead = async (meterId: string, timestamp: string): Promise<StoredRead | undefined> =>
    (
      await stack.db.query<StoredRead>(
        `select r.read_at, r.reading_type, r.communication_status, r.response_time_ms,
                json_build_object('codes', l.codes, 'scalers', l.scalers, 'units', l.units) as layout,
                r.raw, r.qualities
           from meter_reads r join read_layouts l on l.id = r.layout_id
          where r.meter_id = $1 and r.read_at = $2::timestamptz`,
        [meterId, timestamp],
      )
    ).rows[0];

  const meterStatus = async (meterId: string): Promise<MeterStatus> =>
    (await stack.db.query<{ status: MeterStatus }>('select status from meters where id = $1', [meterId]))
      .rows[0].status;

  beforeAll(async () => {
    ({ stack, meterIds, numberOf } = await startRealtimeStackWithMeters({
      // Each meter on its own loopback address, so a `dead` meter really refuses connections.
      sim: { meters: 6, addresses: '127.41.0.0/24', format: 'mixed', seed: 51, prefix: 'RTP' },
      intervalMs: INTERVAL,
      queuePrefix: QUEUE_PREFIX,
    }));
  }, 240_000);

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    await stopRealtimeStack(stack, meterIds);
  });

  it('a meter no one watches is read and stored, but its reading updates are not published', async () => {
    const meterId = meterIds[0];
    await eventually(
      async () => {
        const { rows } = await stack.db.query<{ n: number }>(
          `select count(*)::int as n from meter_reads where meter_id = $1 and reading_type = 'scheduled'`,
          [meterId],
        );
        return rows[0].n >= 2 ? rows[0].n : undefined;
      },
      3 * INTERVAL + SLACK + 10_000,
      'two stored scheduled reads',
    );
    const updates = (await streamEntries(QUEUE_PREFIX))
      .map(readRealtimeBroadcast)
      .filter((b) => b?.event === WS_EVENTS.READING_UPDATE)
      .map((b) => (b!.payload as MeterReadingUpdateEvent).meterId);
    expect(updates.filter((id) => meterIds.includes(id))).toEqual([]);
  });

  it('test 2: a client in a meter room gets meter-reading-update within one interval, equal to the stored read', async () => {
    const meterId = meterIds[0];
    const watcher = await client(stack.apiA.baseUrl, [ROOMS.meter(meterId)]);
    const joinedAt = Date.now();
    await watcher.waitFor(
      () => watcher.readings.some((r) => r.event.communicationStatus === 'success'),
      INTERVAL + SLACK + 10_000,
      'a successful reading update',
    );
    const first = watcher.readings[0];
    expect(first.receivedAt - joinedAt).toBeLessThanOrEqual(INTERVAL + SLACK);

    const event = watcher.readings.find((r) => r.event.communicationStatus === 'success')!.event;
    expect(event).toMatchObject({
      meterId,
      meterNumber: numberOf(meterId),
      readingType: 'scheduled',
      communicationStatus: 'success',
    });
    expect(event.readings.length).toBeGreaterThan(0);
    const stored = await storedRead(meterId, event.timestamp);
    expect(stored).toBeDefined();
    expect(stored!.reading_type).toBe(event.readingType);
    expect(stored!.communication_status).toBe(event.communicationStatus);
    expect(stored!.response_time_ms).toBe(event.responseTime);
    // Same OBIS codes, raw values, scalers, units and qualities as the stored row…
    const { layout, raw: raws, qualities } = stored!;
    expect(storedFormOf(event.readings)).toEqual({ layout, raw: raws, qualities });
    // …and the physical values derived from it.
    for (const r of event.readings) {
      const i = layout.codes.indexOf(r.obisCode);
      const [raw, scaler, quality] = [raws[i], layout.scalers[i], qualities?.[i] ?? 'good'];
      const expected =
        quality === 'error' || raw === null
          ? null
          : typeof raw === 'number'
            ? physicalValue(raw, scaler)
            : raw;
      expect({ obis: r.obisCode, value: r.value }).toEqual({ obis: r.obisCode, value: expected });
    }
    // No other meter's events reached this room.
    expect(watcher.readings.every((r) => r.event.meterId === meterId)).toBe(true);
  });

  it('test 2 (on-demand): an on-demand read is published to the room too, equal to the stored read', async () => {
    const meterId = meterIds[1];
    const watcher = await client(stack.apiB.baseUrl, [ROOMS.meter(meterId)]);
    const res = await request(stack.apiA.server)
      .post(`/api/meters/${meterId}/read-obis`)
      .set('Authorization', `Bearer ${stack.admin}`)
      .send({});
    expect(res.status).toBe(200);
    await watcher.waitFor(
      () => watcher.readings.some((r) => r.event.readingType === 'on-demand'),
      10_000,
      'an on-demand reading update',
    );
    const event = watcher.readings.find((r) => r.event.readingType === 'on-demand')!.event;
    const stored = await storedRead(meterId, event.timestamp);
    expect(stored?.reading_type).toBe('on-demand');
    expect(storedFormOf(event.readings)).toEqual({
      layout: stored!.layout,
      raw: stored!.raw,
      qualities: stored!.qualities,
    });
  });

  it('test 3: a simulator fault brings meter-status-change offline, then online after recovery', async () => {
    const meterId = meterIds[2];
    const meterNumber = numberOf(meterId);
    const inMeterRoom = await client(stack.apiA.baseUrl, [ROOMS.meter(meterId)]);
    const inAreaRoom = await client(stack.apiB.baseUrl, [ROOMS.area(stack.areaId)]);
    const inFleetRoom = await client(stack.apiB.baseUrl, [ROOMS.fleet]);
    await inMeterRoom.waitFor(() => inMeterRoom.readings.length > 0, INTERVAL + SLACK + 10_000, 'polling');
    expect(await meterStatus(meterId)).toBe('online');

    await stack.sim.control.setFault(meterNumber, 'dead');
    await inMeterRoom.waitFor(
      () => inMeterRoom.statusesOf(meterId).length >= 1,
      2 * INTERVAL + SLACK + 5_000,
      'offline status change',
    );
    const offline = inMeterRoom.statusesOf(meterId)[0];
    expect(offline).toMatchObject<Partial<MeterStatusChangeEvent>>({
      meterId,
      meterNumber,
      status: 'offline',
      previousStatus: 'online',
    });
    expect(offline.reason).toEqual(expect.any(String));
    expect(await meterStatus(meterId)).toBe('offline');
    // the failed read that caused it was published to the meter room as well
    expect(inMeterRoom.readingsOf(meterId).some((e) => e.communicationStatus === 'failed')).toBe(true);

    await stack.sim.control.setFault(meterNumber, 'ok');
    await inMeterRoom.waitFor(
      () => inMeterRoom.statusesOf(meterId).length >= 2,
      4000 + 2 * INTERVAL + SLACK + 5_000, // backoff is at most METER_OFFLINE_BACKOFF_MAX_MS = 4000
      'online status change',
    );
    expect(inMeterRoom.statusesOf(meterId)[1]).toMatchObject({
      meterId,
      status: 'online',
      previousStatus: 'offline',
    });
    expect(inMeterRoom.statusesOf(meterId)[1].lastSeen).toEqual(expect.any(String));
    expect(await meterStatus(meterId)).toBe('online');

    // the same two changes, once each, in the area and fleet rooms (served by the other api instance)
    for (const r of [inAreaRoom, inFleetRoom]) {
      await r.waitFor(() => r.statusesOf(meterId).length >= 2, 5_000, 'area/fleet status changes');
      expect(r.statusesOf(meterId).map((e) => [e.previousStatus, e.status])).toEqual([
        ['online', 'offline'],
        ['offline', 'online'],
      ]);
      expect(r.readings).toHaveLength(0);
    }
    // and they are the changes recorded in PostgreSQL
    const { rows } = await stack.db.query<{ previous_status: string; status: string }>(
      `select previous_status, status from meter_events
       where meter_id = $1 and previous_status is distinct from status order by id`,
      [meterId],
    );
    expect(rows.slice(-2).map((r) => [r.previous_status, r.status])).toEqual([
      ['online', 'offline'],
      ['offline', 'online'],
    ]);
  });

  it('test 4: with two api instances, each client gets each event exactly once, in order, over several intervals', async () => {
    const [m0, m1, m2] = [meterIds[3], meterIds[4], meterIds[5]];
    const watchers = {
      a1: await client(stack.apiA.baseUrl, [ROOMS.meter(m0), ROOMS.meter(m1), ROOMS.fleet]),
      a2: await client(stack.apiA.baseUrl, [ROOMS.area(stack.areaId), ROOMS.meter(m0), ROOMS.meter(m2)]),
      b1: await client(stack.apiB.baseUrl, [
        ROOMS.meter(m0),
        ROOMS.meter(m1),
        ROOMS.meter(m2),
        ROOMS.area(stack.areaId),
        ROOMS.fleet,
      ]),
      b2: await client(stack.apiB.baseUrl, [ROOMS.meter(m1)]),
    };
    const meterRoomsOf: Record<keyof typeof watchers, string[]> = {
      a1: [m0, m1],
      a2: [m0, m2],
      b1: [m0, m1, m2],
      b2: [m1],
    };
    const statsBefore = await Promise.all(
      [stack.apiA.baseUrl, stack.apiB.baseUrl].map((u) => realtimeStats(u, stack.admin)),
    );
    const windowStart = Date.now();
    // Mid-window, m2 fails and recovers: two status changes for the area and fleet rooms, on both instances.
    await sleep(INTERVAL);
    await stack.sim.control.setFault(numberOf(m2), 'dead');
    await watchers.b1.waitFor(
      () => watchers.b1.statusesOf(m2).length >= 1,
      2 * INTERVAL + SLACK + 5_000,
      'm2 offline',
    );
    await stack.sim.control.setFault(numberOf(m2), 'ok');
    await watchers.b1.waitFor(
      () => watchers.b1.statusesOf(m2).length >= 2,
      4000 + 2 * INTERVAL + SLACK + 5_000,
      'm2 online',
    );
    await sleep(2 * INTERVAL);
    const windowEnd = Date.now();
    // Everything read before windowEnd has been stored and published by now.
    await sleep(1000 + SLACK);

    const { rows } = await stack.db.query<{ meter_id: string; read_at: Date }>(
      `select meter_id, read_at from meter_reads
       where meter_id = any($1::uuid[]) and read_at >= $2 and read_at < $3 order by read_at`,
      [[m0, m1, m2], new Date(windowStart), new Date(windowEnd)],
    );
    const storedTimes = (id: string) =>
      rows.filter((r) => r.meter_id === id).map((r) => r.read_at.toISOString());
    // several intervals of every meter (m2 fewer: backoff while offline)
    expect(storedTimes(m0).length).toBeGreaterThanOrEqual(4);
    expect(storedTimes(m1).length).toBeGreaterThanOrEqual(4);

    const { rows: changes } = await stack.db.query<{
      meter_id: string;
      previous_status: string;
      status: string;
    }>(
      `select meter_id, previous_status, status from meter_events
       where meter_id = any($1::uuid[]) and created_at >= $2 and previous_status is distinct from status
       order by id`,
      [meterIds, new Date(windowStart)],
    );
    // the fault really produced m2's two changes
    expect(changes.filter((c) => c.meter_id === m2).map((c) => [c.previous_status, c.status])).toEqual(
      expect.arrayContaining([
        ['online', 'offline'],
        ['offline', 'online'],
      ]),
    );

    const inWindow = (e: MeterReadingUpdateEvent) => {
      const t = Date.parse(e.timestamp);
      return t >= windowStart && t < windowEnd;
    };
    for (const [name, watcher] of Object.entries(watchers) as [keyof typeof watchers, EventRecorder][]) {
      for (const id of [m0, m1, m2]) {
        const received = watcher
          .readingsOf(id)
          .filter(inWindow)
          .map((e) => e.timestamp);
        const expected = meterRoomsOf[name].includes(id) ? storedTimes(id) : [];
        // exactly the stored reads: none missing, none twice, in order
        expect({ client: name, meter: numberOf(id), received }).toEqual({
          client: name,
          meter: numberOf(id),
          received: expected,
        });
      }
      // status changes: exactly those recorded in PostgreSQL for the meters this client watches (through a
      // meter room, or all of them through the area or fleet room), once each, in order
      const watchesAll = name !== 'b2';
      const expectedChanges = changes
        .filter((c) => watchesAll || meterRoomsOf[name].includes(c.meter_id))
        .map((c) => [c.meter_id, c.previous_status, c.status]);
      const receivedChanges = watcher.statuses
        .filter((s) => Date.parse(s.event.timestamp) >= windowStart)
        .map((s) => [s.event.meterId, s.event.previousStatus, s.event.status]);
      expect({ client: name, changes: receivedChanges }).toEqual({ client: name, changes: expectedChanges });
    }
    // Neither instance saw a loss or a duplicate on Redis meanwhile.
    const statsAfter = await Promise.all(
      [stack.apiA.baseUrl, stack.apiB.baseUrl].map((u) => realtimeStats(u, stack.admin)),
    );
    statsAfter.forEach((after, i) => {
      expect(after.lost - statsBefore[i].lost).toBe(0);
      expect(after.duplicates - statsBefore[i].duplicates).toBe(0);
      expect(after.accepted).toBeGreaterThan(statsBefore[i].accepted);
    });
  });
});
