import { startSimulator } from './index';
import { canonicalObis } from './obis';
import { DEFAULT_OBIS_CODES } from './registers';
import { ArrayReading, physicalValues, TestClient } from './test-client';
import type { RunningSimulator } from './types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const VOLTAGE = ['1-0:32.7.0.255', '1-0:52.7.0.255', '1-0:72.7.0.255'];
const CURRENT = ['1-0:31.7.0.255', '1-0:51.7.0.255', '1-0:71.7.0.255'];
const POWER = ['1-0:21.7.0.255', '1-0:41.7.0.255', '1-0:61.7.0.255'];
const PF = '1-0:13.7.0.255';
const IMPORT = '1-0:1.8.0.255';
const EXPORT = '1-0:2.8.0.255';
const ABS = '1-0:15.8.0.255';

describe('simulator meter protocol', () => {
  let sim: RunningSimulator;
  let client: TestClient;
  const read = (meterNumber: string, obisCodes: string[] = [...DEFAULT_OBIS_CODES]) =>
    client.post(sim.gatewayUrl, '/api/read', { meterNumber, obisCodes });
  const write = (meterNumber: string, obisCode: string, value: unknown) =>
    client.post(sim.gatewayUrl, '/api/write', { meterNumber, obisCode, value });

  beforeAll(async () => {
    sim = await startSimulator({ meters: 30, seed: 7, format: 'mixed' });
    client = new TestClient();
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  const byFormat = (format: 'array' | 'object') => sim.meters.filter((m) => m.format === format);

  it('mixes both formats deterministically from the seed', async () => {
    expect(byFormat('array').length).toBeGreaterThan(3);
    expect(byFormat('object').length).toBeGreaterThan(3);
    const again = await startSimulator({ meters: 30, seed: 7 });
    const other = await startSimulator({ meters: 30, seed: 8 });
    try {
      expect(again.meters.map((m) => m.format)).toEqual(sim.meters.map((m) => m.format));
      expect(other.meters.map((m) => m.format)).not.toEqual(sim.meters.map((m) => m.format));
      const a = again.control.meterState('SIM-000003')!;
      const b = sim.control.meterState('SIM-000003')!;
      expect(a.thresholdW).toBe(b.thresholdW);
      expect(a.values[IMPORT].value).toBeCloseTo(b.values[IMPORT].value as number, -2);
    } finally {
      await again.stop();
      await other.stop();
    }
  });

  it('answers format 1 with raw values, units and scalers for all 17 default codes', async () => {
    const meter = byFormat('array')[0];
    const res = await read(meter.meterNumber);
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('application/json');
    const readings = (res.json as { readings: ArrayReading[] }).readings;
    expect(readings.map((r) => r.obisCode)).toEqual(DEFAULT_OBIS_CODES);
    expect(readings.every((r) => r.quality === 'good')).toBe(true);
    const by = Object.fromEntries(readings.map((r) => [r.obisCode, r]));
    for (const code of VOLTAGE) {
      expect(by[code]).toMatchObject({ unit: 'V', scaler: -1 });
      expect(Number.isInteger(by[code].value)).toBe(true);
      expect(by[code].value).toBeGreaterThan(2200);
      expect(by[code].value).toBeLessThan(2400);
    }
    for (const code of CURRENT) {
      expect(by[code].unit).toBe('A');
      expect([-3, -2]).toContain(by[code].scaler);
    }
    for (const code of [...POWER, '1-0:1.7.0.255']) expect(by[code]).toMatchObject({ unit: 'W', scaler: 0 });
    for (const code of [IMPORT, EXPORT, ABS]) expect(by[code]).toMatchObject({ unit: 'Wh', scaler: 0 });
    expect(by['1-0:14.7.0.255']).toMatchObject({ unit: 'Hz', scaler: -2 });
    expect(Math.abs((by['1-0:14.7.0.255'].value as number) - 5000)).toBeLessThanOrEqual(10);
    expect(by[PF]).toMatchObject({ unit: '', scaler: -3 });
    expect(by[PF].value).toBeGreaterThanOrEqual(800);
    expect(by[PF].value).toBeLessThanOrEqual(1000);
    expect(by['0-0:96.1.0.255'].value).toBe(meter.meterNumber);
    expect(by['0-0:1.0.0.255'].value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    expect(Math.abs(Date.parse(by['0-0:1.0.0.255'].value as string) - Date.now())).toBeLessThan(5000);
    expect(by[ABS].value).toBe((by[IMPORT].value as number) + (by[EXPORT].value as number));
  });

  it('answers format 2 with flat physical values', async () => {
    const meter = byFormat('object')[0];
    const res = await read(meter.meterNumber);
    expect(res.status).toBe(200);
    const body = res.json as Record<string, number | string>;
    expect(Object.keys(body)).toEqual(DEFAULT_OBIS_CODES);
    for (const code of VOLTAGE) {
      expect(body[code]).toBeGreaterThan(220);
      expect(body[code]).toBeLessThan(240);
    }
    expect(body['1-0:14.7.0.255']).toBeGreaterThanOrEqual(49.9);
    expect(body['1-0:14.7.0.255']).toBeLessThanOrEqual(50.1);
    expect(body[PF]).toBeGreaterThanOrEqual(0.8);
    expect(body[PF]).toBeLessThanOrEqual(1);
    expect(body['0-0:96.1.0.255']).toBe(meter.meterNumber);
    expect(body[ABS]).toBe((body[IMPORT] as number) + (body[EXPORT] as number));
    // The same true values the control handle reports, in physical units.
    const served = sim.control.meterState(meter.meterNumber)!.lastServed!;
    for (const code of DEFAULT_OBIS_CODES) expect(body[code]).toEqual(served.values[code].physical);
  });

  it('marks unknown codes as errors (format 1) or leaves them out (format 2), and accepts short forms', async () => {
    const codes = ['1-0:99.99.99.255', '1.8.0', 'not-obis', IMPORT];
    const a = await read(byFormat('array')[0].meterNumber, codes);
    const readings = (a.json as { readings: ArrayReading[] }).readings;
    expect(readings.map((r) => [r.obisCode, r.quality])).toEqual([
      ['1-0:99.99.99.255', 'error'],
      ['1.8.0', 'good'],
      ['not-obis', 'error'],
      [IMPORT, 'good'],
    ]);
    expect(readings[0].value).toBeNull();
    expect(readings[1].value).toBe(readings[3].value);
    const o = await read(byFormat('object')[0].meterNumber, codes);
    expect(Object.keys(o.json as object)).toEqual(['1.8.0', IMPORT]);
  });

  it('keeps P = V·I·PF per phase and total = sum of phases', async () => {
    for (const meter of sim.meters.slice(0, 10)) {
      const v = physicalValues((await read(meter.meterNumber)).json);
      const pf = v[PF] as number;
      let sum = 0;
      for (let k = 0; k < 3; k++) {
        const expected = (v[VOLTAGE[k]] as number) * (v[CURRENT[k]] as number) * pf;
        expect(Math.abs((v[POWER[k]] as number) - expected)).toBeLessThanOrEqual(0.5 + 1e-6);
        expect(v[CURRENT[k]]).toBeGreaterThan(0);
        sum += v[POWER[k]] as number;
      }
      expect(v['1-0:1.7.0.255']).toBe(sum);
    }
  });

  it('integrates energy over elapsed time: never decreasing, growing as power says', async () => {
    const meters = sim.meters.slice(10, 30).map((m) => m.meterNumber);
    const first = await Promise.all(meters.map((n) => read(n).then((r) => physicalValues(r.json))));
    const t0 = Date.now();
    await sleep(700);
    const second = await Promise.all(meters.map((n) => read(n).then((r) => physicalValues(r.json))));
    const hours = (Date.now() - t0 + 200) / 3_600_000;
    let grew = 0;
    first.forEach((a, i) => {
      const b = second[i];
      const delta = (b[IMPORT] as number) - (a[IMPORT] as number);
      expect(delta).toBeGreaterThanOrEqual(0);
      expect(b[EXPORT]).toBeGreaterThanOrEqual(a[EXPORT] as number);
      // At most the larger power seen for the whole window (+1 Wh for flooring), plus 30 % load swing.
      const maxW = Math.max(a['1-0:1.7.0.255'] as number, b['1-0:1.7.0.255'] as number) * 1.3;
      expect(delta).toBeLessThanOrEqual(maxW * hours + 1);
      if (delta > 0) grew++;
    });
    expect(grew).toBeGreaterThan(0);
  });

  it('writes the clock, which then runs from the written value', async () => {
    const n = sim.meters[0].meterNumber;
    const res = await write(n, '0-0:1.0.0.255', '2030-01-01T00:00:00+02:00');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      obisCode: '0-0:1.0.0.255',
      value: '2030-01-01T00:00:00+02:00',
    });
    expect(typeof (res.json as { previousValue: unknown }).previousValue).toBe('string');
    const v = physicalValues((await read(n, ['0-0:1.0.0.255'])).json);
    expect(v['0-0:1.0.0.255']).toBe('2030-01-01T00:00:00+02:00');
    await sleep(1100);
    const later = physicalValues((await read(n, ['0-0:1.0.0.255'])).json)['0-0:1.0.0.255'] as string;
    expect(Date.parse(later) - Date.parse('2030-01-01T00:00:00+02:00')).toBeGreaterThanOrEqual(1000);
    expect(Date.parse(later) - Date.parse('2030-01-01T00:00:00+02:00')).toBeLessThan(10_000);
  });

  it('disconnects: zero current and power, energy stops; reconnect restores them', async () => {
    const n = sim.meters[1].meterNumber;
    const off = await write(n, '0-0:96.3.10.255', 'disconnected');
    expect(off.json).toMatchObject({ success: true, value: 'disconnected', previousValue: 'connected' });
    const a = physicalValues((await read(n)).json);
    expect(a['0-0:96.3.10.255']).toBeUndefined(); // not among the 17 defaults
    for (const code of [...CURRENT, ...POWER, '1-0:1.7.0.255']) expect(a[code]).toBe(0);
    expect(a[VOLTAGE[0]]).toBeGreaterThan(200);
    await sleep(400);
    const b = physicalValues((await read(n, [...DEFAULT_OBIS_CODES, '0-0:96.3.10.255'])).json);
    expect(b[IMPORT]).toBe(a[IMPORT]);
    expect(b['0-0:96.3.10.255']).toBe('disconnected');
    for (const value of [1, true, 'connected']) {
      const on = await write(n, '0-0:96.3.10.255', value);
      expect(on.json).toMatchObject({ success: true, value: 'connected' });
    }
    const c = physicalValues((await read(n)).json);
    expect(c['1-0:1.7.0.255']).toBeGreaterThan(0);
    await write(n, '0-0:96.3.10.255', 0);
    expect(physicalValues((await read(n)).json)['1-0:1.7.0.255']).toBe(0);
    await write(n, '0-0:96.3.10.255', true);
  });

  it('writes the limiter threshold and reads it back', async () => {
    const n = sim.meters[2].meterNumber;
    const before = sim.control.meterState(n)!.thresholdW;
    const res = await write(n, '0-0:17.0.0.255', 4600);
    expect(res.json).toEqual({
      success: true,
      obisCode: '0-0:17.0.0.255',
      value: 4600,
      previousValue: before,
    });
    expect(physicalValues((await read(n, ['0-0:17.0.0.255'])).json)['0-0:17.0.0.255']).toBe(4600);
  });

  it('rejects writes to read-only codes (403) and values of the wrong type (400)', async () => {
    const n = sim.meters[3].meterNumber;
    const ro = await write(n, IMPORT, 0);
    expect(ro.status).toBe(403);
    expect(ro.json).toMatchObject({ success: false, error: expect.stringContaining('read-only') });
    for (const [code, value] of [
      ['0-0:1.0.0.255', 12345],
      ['0-0:1.0.0.255', 'yesterday'],
      ['0-0:96.3.10.255', 'maybe'],
      ['0-0:17.0.0.255', '4600'],
      ['0-0:17.0.0.255', -1],
    ] as const) {
      const res = await write(n, code, value);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ success: false, error: expect.any(String) });
    }
    const unknown = await write(n, '1-0:99.99.99.255', 1);
    expect(unknown.status).toBe(400);
    expect(physicalValues((await read(n, ['0-0:17.0.0.255'])).json)['0-0:17.0.0.255']).toBe(
      sim.control.meterState(n)!.thresholdW,
    );
  });

  it('rejects bad requests: non-JSON 400, missing obisCodes 400, unknown meter 404, wrong method 405', async () => {
    const bad = await client.post(sim.gatewayUrl, '/api/read', '{"obisCodes": [');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: expect.any(String) });
    expect((await client.post(sim.gatewayUrl, '/api/read', { meterNumber: 'SIM-000001' })).status).toBe(400);
    expect(
      (await client.post(sim.gatewayUrl, '/api/read', { meterNumber: 'SIM-000001', obisCodes: [1, 2] }))
        .status,
    ).toBe(400);
    expect((await client.post(sim.gatewayUrl, '/api/read', { obisCodes: [IMPORT] })).status).toBe(400);
    const missing = await client.post(sim.gatewayUrl, '/api/read', {
      meterNumber: 'NOPE-1',
      obisCodes: [IMPORT],
    });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: expect.stringContaining('NOPE-1') });
    const wmissing = await write('NOPE-1', '0-0:17.0.0.255', 1);
    expect(wmissing.status).toBe(404);
    expect(wmissing.json).toMatchObject({ success: false });
    expect((await client.get(`${sim.gatewayUrl}/api/read`)).status).toBe(405);
    expect((await client.post(sim.gatewayUrl, '/other', {})).status).toBe(404);
  });
});

describe('canonicalObis', () => {
  it('accepts the canonical, short, dotted and hex spellings', () => {
    expect(canonicalObis('1-0:1.8.0.255')).toBe('1-0:1.8.0.255');
    expect(canonicalObis('1-0:1.8.0')).toBe('1-0:1.8.0.255');
    expect(canonicalObis('1.8.0')).toBe('1-0:1.8.0.255');
    expect(canonicalObis('1.0.1.8.0.255')).toBe('1-0:1.8.0.255');
    expect(canonicalObis('0100010800FF')).toBe('1-0:1.8.0.255');
    expect(canonicalObis('1-0:1.8.0.256')).toBeNull();
    expect(canonicalObis('voltage')).toBeNull();
  });
});
