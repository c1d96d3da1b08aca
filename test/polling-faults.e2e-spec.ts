/**
 * Failing meters (issue 4, test 3): dead (refused), blackhole and slow (deadline), HTTP error and garbage
 * meters produce failed read records, go offline with a status event (stored and published), and come
 * back online by themselves once the fault is cleared. A meter outside the worker's allowed networks is
 * never contacted, and its attempts are recorded as failed.
 */
import { MeterStatusChangeEvent, ROOMS } from '@app/contracts';
import { adminToken, createTestApi, StartedProcess, TestApi } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';
import { FaultMode, ManifestEntry, RunningSimulator, startSimulator } from '../apps/simulator/src';
import { connectDb, pollingEnv, retireMeters, startWorker, waitFor } from './polling-helpers';
import { connectClient, EventRecorder, joinRoom } from './realtime-helpers';

const INTERVAL = 2000;
const TIMEOUT = 1000;
const FAULTS: Record<string, { mode: FaultMode; error: RegExp }> = {
  dead: { mode: 'dead', error: /refused/ },
  blackhole: { mode: 'blackhole', error: /no answer within 1000 ms/ },
  slow: { mode: 'slow', error: /no answer within 1000 ms/ },
  error: { mode: 'error', error: /HTTP 500/ },
  garbage: { mode: 'garbage', error: /./ },
};

jest.setTimeout(150_000);

describe('failing meters go offline, are recorded and recover', () => {
  let sim: RunningSimulator;
  let api: TestApi;
  let db: Client;
  let worker: StartedProcess;
  let recorder: EventRecorder;
  const idOf = new Map<string, string>();
  /** Role of each simulated meter: a fault name, 'ok', or 'outside'. */
  const roleOf = new Map<string, string>();
  let outside: ManifestEntry;

  const meterRow = async (id: string) =>
    (
      await db.query(
        `SELECT status, consecutive_failures, last_error, next_poll_at, last_seen FROM meters WHERE id = $1`,
        [id],
      )
    ).rows[0];

  const meterRows = async (ids: string[]) =>
    (await db.query(`SELECT status FROM meters WHERE id = ANY($1::uuid[])`, [ids])).rows;

  beforeAll(async () => {
    db = await connectDb();
    // Dedicated listeners: each meter has its own loopback address, so a dead one refuses connections.
    sim = await startSimulator({
      meters: 8,
      addresses: '127.23.0.0/24',
      format: 'mixed',
      seed: 11,
      prefix: 'PF',
      slowMs: 2500,
    });
    const names = [...Object.keys(FAULTS), 'ok', 'ok', 'outside'];
    sim.meters.forEach((m, i) => roleOf.set(m.meterNumber, names[i]));
    outside = sim.meters[7];
    const allowedForWorker = sim.meters
      .filter((m) => m !== outside)
      .map((m) => `${m.ipAddress}/32`)
      .join(',');
    const env = pollingEnv('hes-poll-f', {
      METER_POLLING_INTERVAL: String(INTERVAL),
      METER_TIMEOUT_MS: String(TIMEOUT),
    });
    api = await createTestApi(env);
    const token = await adminToken(api);
    worker = await startWorker({ ...env, METER_ALLOWED_NETWORKS: allowedForWorker });

    const socket = await connectClient(api.baseUrl, { token });
    recorder = new EventRecorder(socket);
    expect((await joinRoom(socket, ROOMS.fleet)).success).toBe(true);

    await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'Area POLL-F', code: 'POLL-F' })
      .expect(201);
    for (const m of sim.meters) {
      const role = roleOf.get(m.meterNumber)!;
      if (FAULTS[role]) await sim.control.setFault(m.meterNumber, FAULTS[role].mode, { slowMs: 2500 });
      const res = await request(api.server).post('/api/meters').set('Authorization', `Bearer ${token}`).send({
        meterNumber: m.meterNumber,
        meterType: 'single-phase',
        brand: 'sim',
        model: 'SIM-1',
        area: 'POLL-F',
        ipAddress: m.ipAddress,
        port: m.port,
        status: 'online',
      });
      expect(res.status).toBe(201);
      idOf.set(m.meterNumber, res.body.data.id);
    }
  });

  afterAll(async () => {
    recorder?.socket.close();
    await worker?.stop('SIGTERM');
    await api?.close();
    if (db) await retireMeters(db, [...idOf.values()]);
    await sim?.stop();
    await db?.end();
  });

  it('records failed reads, marks faulty meters offline and publishes the change; healthy ones stay online', async () => {
    const failing = sim.meters.filter((m) => roleOf.get(m.meterNumber) !== 'ok');
    await waitFor(
      'every failing meter to be offline',
      async () => {
        const rows = await meterRows(failing.map((m) => idOf.get(m.meterNumber)!));
        return rows.length === failing.length && rows.every((r) => r.status === 'offline');
      },
      8 * INTERVAL + 15_000,
    );

    for (const m of sim.meters) {
      const id = idOf.get(m.meterNumber)!;
      const role = roleOf.get(m.meterNumber)!;
      const row = await meterRow(id);
      const { rows: reads } = await db.query(
        `SELECT communication_status, error, layout_id, raw, qualities FROM meter_reads
         WHERE meter_id = $1 AND reading_type = 'scheduled' ORDER BY read_at`,
        [id],
      );
      expect(reads.length).toBeGreaterThanOrEqual(1);
      if (role === 'ok') {
        expect(row.status).toBe('online');
        expect(reads.every((r) => r.communication_status !== 'failed')).toBe(true);
        continue;
      }
      const expectedError = role === 'outside' ? /outside METER_ALLOWED_NETWORKS/ : FAULTS[role].error;
      expect(reads[0].communication_status).toBe('failed');
      expect(reads[0].error).toMatch(expectedError);
      // A failed read stores no values.
      expect(reads[0]).toMatchObject({ layout_id: null, raw: null, qualities: null });
      expect(row.last_error).toMatch(expectedError);
      expect(row.consecutive_failures).toBeGreaterThanOrEqual(1);
      expect(row.next_poll_at).not.toBeNull();

      const { rows: events } = await db.query(
        `SELECT previous_status, status, reason FROM meter_events
         WHERE meter_id = $1 AND event_type = 'status-change' ORDER BY id`,
        [id],
      );
      expect(events[0]).toMatchObject({ previous_status: 'online', status: 'offline' });
      expect(events[0].reason).toMatch(expectedError);
      await waitFor(`the published offline event of ${m.meterNumber}`, async () =>
        recorder.statuses.some(
          ({ event }: { event: MeterStatusChangeEvent }) =>
            event.meterId === id && event.previousStatus === 'online' && event.status === 'offline',
        ),
      );
    }
    // Never contacted: the simulator saw no request for the meter outside the allowed networks.
    expect(sim.control.counters().meters[outside.meterNumber]?.reads ?? 0).toBe(0);
  });

  it('brings every meter back online by itself once its fault is cleared', async () => {
    const faulty = sim.meters.filter((m) => FAULTS[roleOf.get(m.meterNumber)!]);
    await sim.control.setFaults(
      'ok',
      faulty.map((m) => m.meterNumber),
    );
    const clearedAt = Date.now();
    await waitFor(
      'the recovered meters to be online',
      async () => {
        const rows = await meterRows(faulty.map((m) => idOf.get(m.meterNumber)!));
        return rows.length === faulty.length && rows.every((r) => r.status === 'online');
      },
      // Backoff is capped at 4 s (METER_OFFLINE_BACKOFF_MAX_MS): at most a few intervals.
      6 * INTERVAL + 15_000,
    );
    expect(Date.now() - clearedAt).toBeLessThanOrEqual(4000 + 2 * INTERVAL + 5000);
    for (const m of faulty) {
      const id = idOf.get(m.meterNumber)!;
      const row = await meterRow(id);
      expect(row).toMatchObject({ consecutive_failures: 0, last_error: null, next_poll_at: null });
      expect(row.last_seen).not.toBeNull();
      const { rows: events } = await db.query(
        `SELECT previous_status, status FROM meter_events WHERE meter_id = $1 ORDER BY id DESC LIMIT 1`,
        [id],
      );
      expect(events[0]).toEqual({ previous_status: 'offline', status: 'online' });
      await waitFor(`the published online event of ${m.meterNumber}`, async () =>
        recorder.statuses.some(({ event }) => event.meterId === id && event.status === 'online'),
      );
    }
    // The meter outside the allowed networks stays offline and uncontacted.
    expect((await meterRow(idOf.get(outside.meterNumber)!)).status).toBe('offline');
    expect(sim.control.counters().meters[outside.meterNumber]?.reads ?? 0).toBe(0);
  });
});
