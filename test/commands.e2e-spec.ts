/**
 * On-demand commands end to end: api (in-process) → command queue → real worker process → simulator
 * over HTTP → PostgreSQL. Issue 4 tests 2 (formats, per-meter OBIS configuration, scaler and unit) and 6
 * (write-obis, audit, read-only refusal), plus roles, bad input, unreachable meters and the audit trail.
 */
import type { ObisReadingValue } from '@app/contracts';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import { Client } from 'pg';
import request from 'supertest';
import type { RegisterValue } from '../apps/simulator/src';
import {
  registerMeter,
  startCommandStack,
  type CommandStack,
  type RegisteredMeter,
} from './commands-fixtures';

const DISCONNECT = '0-0:96.3.10.255';
const THRESHOLD = '0-0:17.0.0.255';
const CLOCK = '0-0:1.0.0.255';
const VOLTAGE_L1 = '1-0:32.7.0.255';
const ENERGY_CODES = new Set(['1-0:15.8.0.255', '1-0:1.8.0.255', '1-0:2.8.0.255']);
const CATALOG_UNITS: Record<string, string | null> = {
  '1-0:15.8.0.255': 'Wh',
  '1-0:1.8.0.255': 'Wh',
  '1-0:2.8.0.255': 'Wh',
  '1-0:32.7.0.255': 'V',
  '1-0:52.7.0.255': 'V',
  '1-0:72.7.0.255': 'V',
  '1-0:31.7.0.255': 'A',
  '1-0:51.7.0.255': 'A',
  '1-0:71.7.0.255': 'A',
  '1-0:1.7.0.255': 'W',
  '1-0:21.7.0.255': 'W',
  '1-0:41.7.0.255': 'W',
  '1-0:61.7.0.255': 'W',
  '1-0:14.7.0.255': 'Hz',
  '1-0:13.7.0.255': null,
  '0-0:1.0.0.255': null,
  '0-0:96.1.0.255': null,
};

describe('On-demand read and write commands (e2e)', () => {
  let stack: CommandStack;
  let db: Client;
  let arrayMeter: RegisteredMeter;
  let objectMeter: RegisteredMeter;
  let configuredMeter: RegisteredMeter;
  let writeMeter: RegisteredMeter;
  let deadMeter: RegisteredMeter;
  let blackholeMeter: RegisteredMeter;
  let garbageMeter: RegisteredMeter;
  let errorMeter: RegisteredMeter;
  let warehouseMeter: RegisteredMeter;

  beforeAll(async () => {
    stack = await startCommandStack({
      meters: 12,
      addresses: '127.31.0.0/24',
      format: 'mixed',
      energyUnit: 'kWh',
      seed: 4,
    });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const byFormat = (format: string) => stack.sim.meters.filter((m) => m.format === format);
    const arrays = byFormat('array');
    const objects = byFormat('object');
    expect(arrays.length).toBeGreaterThanOrEqual(4);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    const [a0, a1, a2, a3, ...aRest] = arrays;
    const [o0, o1, o2, ...oRest] = objects;
    arrayMeter = await registerMeter(stack, a0);
    writeMeter = await registerMeter(stack, a1);
    objectMeter = await registerMeter(stack, o0);
    // Per-meter configuration in mixed spellings; stored canonical by the meters api.
    configuredMeter = await registerMeter(stack, o1, {
      obisCodes: ['1.8.0', '1-0:32.7.0.255', '0-0:96.1.0.255'],
    });
    deadMeter = await registerMeter(stack, a2);
    blackholeMeter = await registerMeter(stack, a3);
    garbageMeter = await registerMeter(stack, o2);
    errorMeter = await registerMeter(stack, aRest[0] ?? oRest[0]);
    warehouseMeter = await registerMeter(stack, aRest[1] ?? oRest[1], { status: 'warehouse' });
    await stack.sim.control.setFault(deadMeter.meterNumber, 'dead');
    await stack.sim.control.setFault(blackholeMeter.meterNumber, 'blackhole');
    await stack.sim.control.setFault(garbageMeter.meterNumber, 'garbage');
    await stack.sim.control.setFault(errorMeter.meterNumber, 'error');
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  const post = (path: string, body: object, token = stack.tokens.operator) =>
    request(stack.api.server).post(path).set('Authorization', `Bearer ${token}`).send(body);
  const get = (path: string, token = stack.tokens.viewer) =>
    request(stack.api.server).get(path).set('Authorization', `Bearer ${token}`);
  const readObis = (m: RegisteredMeter, body: object = {}, token?: string) =>
    post(`/api/meters/${m.id}/read-obis`, body, token);
  const writeObis = (m: RegisteredMeter, obisCode: string, value: unknown, token?: string) =>
    post(`/api/meters/${m.id}/write-obis`, { obisCode, value }, token);
  const simWrites = (m: RegisteredMeter) => stack.sim.control.getMeter(m.meterNumber)!.writes;

  /** What the simulator last served, asserting our read was that read (no scheduled poll in between). */
  async function readAndServed(m: RegisteredMeter, body: object = {}) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = stack.sim.control.getMeter(m.meterNumber)!.reads;
      const res = await readObis(m, body);
      const state = stack.sim.control.meterState(m.meterNumber)!;
      if (state.reads === before + 1) return { res, served: state.lastServed!.values };
    }
    throw new Error('a scheduled poll kept interleaving with the on-demand read');
  }

  /** The stored reading the api should give for a value the simulator served in the meter's format. */
  function expected(format: string, code: string, served: RegisterValue): Partial<ObisReadingValue> {
    if (typeof served.physical === 'string')
      return { obisCode: code, value: served.physical, quality: 'good' };
    if (format === 'array') {
      return {
        obisCode: code,
        rawValue: served.value,
        scaler: served.scaler,
        unit: served.unit === '' ? null : served.unit,
        value: served.physical,
        quality: 'good',
      };
    }
    // Format 2 is flat and already physical (energy in Wh); unit from the catalog, no scaling applied.
    return {
      obisCode: code,
      scaler: null,
      unit: CATALOG_UNITS[code],
      value: ENERGY_CODES.has(code) ? served.value : served.physical,
      quality: 'good',
    };
  }

  describe('read-obis (issue 4, test 2)', () => {
    it('reads both response formats with scaler and unit applied once, stored as on-demand', async () => {
      for (const m of [arrayMeter, objectMeter]) {
        const { res, served } = await readAndServed(m);
        expect(res.status).toBe(200);
        expect(res.body.success).toBe(true);
        expect(res.body.data).toMatchObject({
          meterId: m.id,
          meterNumber: m.meterNumber,
          communicationStatus: 'success',
          responseTime: expect.any(Number),
        });
        const readings: ObisReadingValue[] = res.body.data.readings;
        expect(readings.map((r) => r.obisCode)).toEqual([...DEFAULT_OBIS_CODES]);
        for (const r of readings)
          expect(r).toMatchObject(expected(m.entry.format, r.obisCode, served[r.obisCode]));
        // Names come from the catalog.
        expect(readings.find((r) => r.obisCode === VOLTAGE_L1)!.name).toBe('Voltage L1');

        // The same values are stored: latest reading and the history's newest record, as on-demand.
        const latest = await get(`/api/meters/${m.id}/obis-readings`).expect(200);
        expect(latest.body.data).toMatchObject({ readingType: 'on-demand', communicationStatus: 'success' });
        expect(latest.body.data.readAt).toBe(res.body.data.readAt);
        expect(sortByCode(latest.body.data.readings)).toEqual(sortByCode(readings));
        const history = await get(`/api/meters/${m.id}/obis-readings/history?limit=1`).expect(200);
        expect(history.body.data[0]).toMatchObject({
          readingType: 'on-demand',
          communicationStatus: 'success',
        });
        expect(sortByCode(history.body.data[0].readings)).toEqual(sortByCode(readings));
      }
    });

    it("uses the meter's own OBIS configuration when no codes are given", async () => {
      const { res, served } = await readAndServed(configuredMeter);
      expect(res.status).toBe(200);
      const readings: ObisReadingValue[] = res.body.data.readings;
      expect(readings.map((r) => r.obisCode)).toEqual(['1-0:1.8.0.255', VOLTAGE_L1, '0-0:96.1.0.255']);
      for (const r of readings) expect(r).toMatchObject(expected('object', r.obisCode, served[r.obisCode]));
    });

    it('reads the requested codes in any spelling, canonical and de-duplicated', async () => {
      const { res, served } = await readAndServed(arrayMeter, {
        obisCodes: ['1.8.0', '1-0:1.8.0.255', '0100200700FF', ' 1-0:31.7.0 '],
      });
      expect(res.status).toBe(200);
      const readings: ObisReadingValue[] = res.body.data.readings;
      expect(readings.map((r) => r.obisCode)).toEqual(['1-0:1.8.0.255', VOLTAGE_L1, '1-0:31.7.0.255']);
      for (const r of readings) expect(r).toMatchObject(expected('array', r.obisCode, served[r.obisCode]));
    });

    it('a code the meter does not know makes the read partial, with the reason', async () => {
      const res = await readObis(arrayMeter, { obisCodes: [VOLTAGE_L1, '1-0:99.99.9.255'] }).expect(200);
      expect(res.body.data.communicationStatus).toBe('partial');
      expect(res.body.data.error).toEqual(expect.stringContaining('1-0:99.99.9.255'));
      expect(res.body.data.readings[1]).toMatchObject({
        obisCode: '1-0:99.99.9.255',
        value: null,
        quality: 'error',
      });
    });

    it('bad codes, too many codes and unknown fields are 400 before anything is queued', async () => {
      const reads = stack.sim.control.getMeter(arrayMeter.meterNumber)!.reads;
      const bad = await readObis(arrayMeter, { obisCodes: [VOLTAGE_L1, 'bogus', '1-0:1.8.0.256'] }).expect(
        400,
      );
      expect(bad.body).toMatchObject({ success: false, error: 'Bad Request' });
      expect(bad.body.message).toContain('"bogus"');
      expect(bad.body.message).toContain('"1-0:1.8.0.256"');
      const many = Array.from({ length: 101 }, (_, i) => `1-0:1.8.${i}.255`);
      await readObis(arrayMeter, { obisCodes: many }).expect(400);
      await readObis(arrayMeter, { obisCodes: 'not-an-array' }).expect(400);
      await readObis(arrayMeter, { obisCodes: [], extra: true }).expect(400);
      expect(stack.sim.control.getMeter(arrayMeter.meterNumber)!.reads).toBe(reads);
    });

    it('roles: viewers may not read or write meters; no token is 401', async () => {
      const viewer = stack.tokens.viewer;
      const denied = await readObis(arrayMeter, {}, viewer).expect(403);
      expect(denied.body).toMatchObject({ success: false, error: 'Forbidden' });
      await writeObis(writeMeter, DISCONNECT, 'disconnected', viewer).expect(403);
      await request(stack.api.server).post(`/api/meters/${arrayMeter.id}/read-obis`).send({}).expect(401);
      await readObis(arrayMeter, {}, stack.tokens.admin).expect(200);
    });

    it('unknown meter → 404; meter in a lifecycle state → 409 (not contacted, refusal audited)', async () => {
      await readObis({ ...arrayMeter, id: '00000000-0000-4000-8000-000000000000' }).expect(404);
      await post('/api/meters/NO-SUCH-METER/read-obis', {}).expect(404);
      const reads = stack.sim.control.getMeter(warehouseMeter.meterNumber)!.reads;
      const res = await readObis(warehouseMeter).expect(409);
      expect(res.body).toMatchObject({ success: false, error: 'Conflict' });
      expect(res.body.message).toContain('warehouse');
      expect(stack.sim.control.getMeter(warehouseMeter.meterNumber)!.reads).toBe(reads);
      const audit = await get(`/api/meters/${warehouseMeter.id}/commands`).expect(200);
      expect(audit.body.data[0]).toMatchObject({ commandType: 'read', status: 'rejected' });
    });

    it('a meter stored with a port outside METER_ALLOWED_PORTS (e.g. before the setting) → 409, not contacted', async () => {
      const { rows } = await db.query<{ port: number }>('select port from meters where id = $1', [
        errorMeter.id,
      ]);
      await db.query('update meters set port = 443 where id = $1', [errorMeter.id]);
      try {
        const reads = stack.sim.control.getMeter(errorMeter.meterNumber)!.reads;
        const res = await readObis(errorMeter).expect(409);
        expect(res.body.message).toBe(
          `Meter ${errorMeter.meterNumber}: port 443 is not in METER_ALLOWED_PORTS (1024-65535); not contacted`,
        );
        expect(stack.sim.control.getMeter(errorMeter.meterNumber)!.reads).toBe(reads);
      } finally {
        await db.query('update meters set port = $2 where id = $1', [errorMeter.id, rows[0].port]);
      }
    });
  });

  describe('unreachable and misbehaving meters', () => {
    it('a dead meter (connection refused) → 504; the failed on-demand read is stored and the meter goes offline', async () => {
      const res = await readObis(deadMeter).expect(504);
      expect(res.body).toMatchObject({ success: false, error: 'Gateway Timeout' });
      expect(res.body.message).toMatch(/unreachable/);
      const { rows } = await db.query(
        `select reading_type, communication_status, error from meter_reads where meter_id = $1`,
        [deadMeter.id],
      );
      expect(rows).toEqual([
        { reading_type: 'on-demand', communication_status: 'failed', error: expect.any(String) },
      ]);
      const latest = await get(`/api/meters/${deadMeter.id}/obis-readings`).expect(200);
      expect(latest.body.data).toMatchObject({
        meterStatus: 'offline',
        readings: [],
        lastError: expect.any(String),
      });
    });

    it('a blackholed meter → 504 after about METER_TIMEOUT_MS (1.5 s), not the api wait', async () => {
      const started = Date.now();
      const res = await readObis(blackholeMeter).expect(504);
      const took = Date.now() - started;
      expect(res.body.message).toMatch(/1500 ms/);
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(5000);
    });

    it('a meter answering garbage or HTTP 500 → 502', async () => {
      const garbage = await readObis(garbageMeter).expect(502);
      expect(garbage.body).toMatchObject({ success: false, error: 'Bad Gateway' });
      const error = await readObis(errorMeter).expect(502);
      expect(error.body.message).toMatch(/500/);
    });
  });

  describe('write-obis (issue 4, test 6)', () => {
    it("changes the simulator's value, reads it back and records who did it with old and new value", async () => {
      expect(stack.sim.control.getMeter(writeMeter.meterNumber)!.connected).toBe(true);
      const res = await writeObis(writeMeter, DISCONNECT, 'disconnected').expect(200);
      expect(res.body).toMatchObject({
        success: true,
        data: {
          meterId: writeMeter.id,
          meterNumber: writeMeter.meterNumber,
          obisCode: DISCONNECT,
          value: 'disconnected',
          previousValue: 'connected',
          responseTime: expect.any(Number),
          commandId: expect.any(String),
        },
      });
      expect(stack.sim.control.getMeter(writeMeter.meterNumber)!.connected).toBe(false);

      const back = await readObis(writeMeter, { obisCodes: [DISCONNECT] }).expect(200);
      expect(back.body.data.readings).toEqual([
        expect.objectContaining({ obisCode: DISCONNECT, value: 'disconnected', quality: 'good' }),
      ]);

      const audit = await get(`/api/meters/${writeMeter.id}/commands`).expect(200);
      const record = audit.body.data.find((c: { id: string }) => c.id === res.body.data.commandId);
      expect(record).toMatchObject({
        meterId: writeMeter.id,
        meterNumber: writeMeter.meterNumber,
        commandType: 'write',
        obisCode: DISCONNECT,
        oldValue: 'connected',
        newValue: 'disconnected',
        status: 'success',
        error: null,
        responseTime: expect.any(Number),
        requestedBy: { id: expect.any(String), username: 'test-operator' },
      });
      expect(Date.parse(record.completedAt)).toBeGreaterThanOrEqual(Date.parse(record.requestedAt));

      await writeObis(writeMeter, DISCONNECT, 'connected').expect(200);
      expect(stack.sim.control.getMeter(writeMeter.meterNumber)!.connected).toBe(true);
    });

    it('writes the limiter threshold and the clock (values normalised by the catalog)', async () => {
      const threshold = await writeObis(writeMeter, '0.0.17.0.0.255', '7500', stack.tokens.admin).expect(200);
      expect(threshold.body.data).toMatchObject({ obisCode: THRESHOLD, value: 7500 });
      expect(stack.sim.control.meterState(writeMeter.meterNumber)!.thresholdW).toBe(7500);
      const back = await readObis(writeMeter, { obisCodes: [THRESHOLD] }).expect(200);
      expect(back.body.data.readings[0]).toMatchObject({ obisCode: THRESHOLD, value: 7500, unit: 'W' });

      await writeObis(writeMeter, CLOCK, '2030-01-02T03:04:05+01:00').expect(200);
      const clock = await readObis(writeMeter, { obisCodes: [CLOCK] }).expect(200);
      // The meter's clock now runs from the written time (a few seconds may have passed).
      const drift = Date.parse(clock.body.data.readings[0].value) - Date.parse('2030-01-02T02:04:05Z');
      expect(drift).toBeGreaterThanOrEqual(0);
      expect(drift).toBeLessThan(60_000);
    });

    it('a read-only code is refused with 400 without contacting the meter, and audited as rejected', async () => {
      const writes = simWrites(writeMeter);
      const res = await writeObis(writeMeter, VOLTAGE_L1, 240).expect(400);
      expect(res.body).toMatchObject({ success: false, error: 'Bad Request' });
      expect(res.body.message).toMatch(/read-only/);
      await writeObis(writeMeter, '1-0:99.1.0.255', 1).expect(400); // not in the catalog
      await writeObis(writeMeter, DISCONNECT, 'maybe').expect(400); // invalid value
      await writeObis(writeMeter, THRESHOLD, -5).expect(400);
      await writeObis(writeMeter, CLOCK, 'tomorrow').expect(400);
      await post(`/api/meters/${writeMeter.id}/write-obis`, { obisCode: DISCONNECT }).expect(400); // no value
      await post(`/api/meters/${writeMeter.id}/write-obis`, { obisCode: DISCONNECT, value: { a: 1 } }).expect(
        400,
      );
      expect(simWrites(writeMeter)).toBe(writes);

      const audit = await get(`/api/meters/${writeMeter.id}/commands?limit=5`).expect(200);
      expect(
        audit.body.data
          .slice(0, 4)
          .map((c: { obisCode: string; status: string; newValue: string }) => [
            c.obisCode,
            c.status,
            c.newValue,
          ]),
      ).toEqual([
        [CLOCK, 'rejected', 'tomorrow'],
        [THRESHOLD, 'rejected', '-5'],
        [DISCONNECT, 'rejected', 'maybe'],
        ['1-0:99.1.0.255', 'rejected', '1'],
      ]);
      expect(audit.body.data[4]).toMatchObject({
        obisCode: VOLTAGE_L1,
        status: 'rejected',
        newValue: '240',
        error: expect.stringMatching(/read-only/),
      });
    });

    it("the meter's own refusal is passed through (400 with its reason) and audited as failed", async () => {
      const writes = simWrites(writeMeter);
      // The catalog accepts any non-negative number; this meter only takes whole watts.
      const res = await writeObis(writeMeter, THRESHOLD, 1.5).expect(400);
      expect(res.body.message).toMatch(/refused the write: .*whole number/);
      expect(simWrites(writeMeter)).toBe(writes + 1);
      const audit = await get(`/api/meters/${writeMeter.id}/commands?limit=1`).expect(200);
      expect(audit.body.data[0]).toMatchObject({
        obisCode: THRESHOLD,
        newValue: '1.5',
        status: 'failed',
        error: expect.stringMatching(/whole number/),
      });
    });

    it('an unreachable meter → 504 and a failed audit record', async () => {
      const res = await writeObis(deadMeter, DISCONNECT, 'disconnected').expect(504);
      expect(res.body).toMatchObject({ success: false, error: 'Gateway Timeout' });
      const audit = await get(`/api/meters/${deadMeter.id}/commands?limit=1`).expect(200);
      expect(audit.body.data[0]).toMatchObject({
        commandType: 'write',
        status: 'failed',
        error: expect.stringMatching(/refused/),
      });
    });
  });

  describe('GET /api/meters/:id/commands', () => {
    it('lists the audit trail newest first, paginated, for every role; by id or meter number', async () => {
      const all = await get(`/api/meters/${writeMeter.meterNumber}/commands?limit=100`).expect(200);
      const total = all.body.pagination.total;
      expect(total).toBeGreaterThanOrEqual(12);
      const times = all.body.data.map((c: { requestedAt: string }) => Date.parse(c.requestedAt));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(new Set(all.body.data.map((c: { commandType: string }) => c.commandType))).toEqual(
        new Set(['read', 'write']),
      );
      // Nothing is left pending once the answers are given.
      expect(all.body.data.filter((c: { status: string }) => c.status === 'pending')).toEqual([]);

      const page2 = await get(`/api/meters/${writeMeter.id}/commands?limit=5&page=2`).expect(200);
      expect(page2.body.pagination).toEqual({ total, page: 2, pages: Math.ceil(total / 5), limit: 5 });
      expect(page2.body.data.map((c: { id: string }) => c.id)).toEqual(
        all.body.data.slice(5, 10).map((c: { id: string }) => c.id),
      );

      await get(`/api/meters/${writeMeter.id}/commands?limit=101`).expect(400);
      await get('/api/meters/NO-SUCH-METER/commands').expect(404);
      await request(stack.api.server).get(`/api/meters/${writeMeter.id}/commands`).expect(401);
    });

    it('the worker reports no unexpected errors', () => {
      expect(stack.worker.output()).not.toMatch(/command .* failed:|Unhandled|unexpected error/);
    });
  });
});

function sortByCode(readings: ObisReadingValue[]): ObisReadingValue[] {
  return [...readings].sort((a, b) => a.obisCode.localeCompare(b.obisCode));
}
