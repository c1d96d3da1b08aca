/**
 * Stored readings queries against real PostgreSQL: the latest read, paginated read records, value series
 * and bucket aggregation, and the bounds (range, page size, dates, codes). Reads are inserted in their
 * stored form here (the worker's path is covered by the commands suites); the api under test is real.
 */
import {
  createReadPartition,
  encodeReadValues,
  upsertReadLayouts,
  type EncodedReadValues,
} from '@app/database';
import type { ObisReadingValue } from '@app/contracts';
import { createTestApi, loginAs, type TestApi } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';

const VOLTAGE = '1-0:32.7.0.255';
const ENERGY = '1-0:1.8.0.255';
const CLOCK = '0-0:1.0.0.255';
const MINUTE = 60_000;

function values(rawVoltage: number | null, energyWh: number, at: Date): ObisReadingValue[] {
  return [
    {
      obisCode: VOLTAGE,
      name: null,
      rawValue: rawVoltage,
      scaler: -1,
      unit: 'V',
      value: null,
      quality: rawVoltage === null ? 'error' : 'good',
    },
    {
      obisCode: ENERGY,
      name: null,
      rawValue: energyWh,
      scaler: -3,
      unit: 'kWh',
      value: null,
      quality: 'good',
    },
    {
      obisCode: CLOCK,
      name: null,
      rawValue: at.toISOString(),
      scaler: null,
      unit: null,
      value: null,
      quality: 'good',
    },
  ];
}

describe('Readings queries (e2e)', () => {
  let api: TestApi;
  let viewer: string;
  let db: Client;
  let meterId: string;
  const meterNumber = `RD-${Date.now().toString(36)}`;
  /** A fixed hour boundary in the past, so the buckets are predictable. */
  const base = new Date(Math.floor((Date.now() - 6 * 3600_000) / 3600_000) * 3600_000);
  const at = (minutes: number) => new Date(base.getTime() + minutes * MINUTE);

  beforeAll(async () => {
    api = await createTestApi();
    viewer = await loginAs(api, 'viewer');
    const operator = await loginAs(api, 'operator');
    const admin = await loginAs(api, 'admin');
    const area = await request(api.server)
      .post('/api/areas')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: `Readings ${meterNumber}`, code: `A-${meterNumber}` })
      .expect(201);
    const meter = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${operator}`)
      .send({
        meterNumber,
        meterType: 'three-phase',
        brand: 'hexing',
        model: 'HEM-3X30',
        area: area.body.data.id,
        ipAddress: '127.0.0.1',
        port: 8080,
        status: 'active',
      })
      .expect(201);
    meterId = meter.body.data.id;

    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    // 90 minutes of scheduled reads, one per minute: voltage 2300 + i (raw, scaler −1), energy 1000·i Wh.
    // Minute 45 is a failed read (no values); minute 50 has an unusable voltage (quality error).
    const encoded = (readings: ObisReadingValue[]) => encodeReadValues(readings)!;
    const stored: (EncodedReadValues | null)[] = [];
    for (let i = 0; i < 90; i++) {
      stored.push(i === 45 ? null : encoded(values(i === 50 ? null : 2300 + i, 1000 * i, at(i))));
    }
    const old = encoded(values(9999, 1, new Date()));
    const current = encoded(values(2389, 89_000, at(89)));
    // Stored as the worker stores them: the layout once, then per read its raw values and odd qualities.
    const layoutIds = await upsertReadLayouts(db, [...stored.filter((v) => v !== null), old, current]);
    expect(layoutIds.size).toBe(1);
    const columns = (v: EncodedReadValues | null) => [
      v ? layoutIds.get(v.fingerprint)! : null,
      v ? JSON.stringify(v.raw) : null,
      v?.qualities ? JSON.stringify(v.qualities) : null,
    ];
    const rows: unknown[][] = stored.map((v, i) => [
      meterId,
      at(i),
      v ? 'success' : 'failed',
      10 + i,
      v ? null : 'connection refused',
      ...columns(v),
    ]);
    // Reads live in daily partitions (no default partition); the migrations and maintenance create them
    // around today only, so a fixture with older reads creates their days.
    for (const t of [...rows.map((row) => (row[1] as Date).getTime()), Date.now() - 40 * 86_400_000]) {
      await createReadPartition(db, t);
    }
    await db.query(
      `insert into meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms, error,
                                layout_id, raw, qualities)
       select m, t, 'scheduled', s::communication_status, r, e, l, v::json, q::json
         from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::int[], $7::text[],
                     $8::text[]) as x(m, t, s, r, e, l, v, q)`,
      [0, 1, 2, 3, 4, 5, 6, 7].map((k) => rows.map((row) => row[k])),
    );
    // An old read outside any default window, and the current reading.
    await db.query(
      `insert into meter_reads (meter_id, read_at, reading_type, communication_status, response_time_ms,
                                layout_id, raw, qualities)
       values ($1, now() - interval '40 days', 'on-demand', 'success', 5, $2, $3, $4)`,
      [meterId, ...columns(old)],
    );
    await db.query(
      `insert into meter_current_readings (meter_id, read_at, reading_type, communication_status, response_time_ms,
                                           layout_id, raw, qualities)
       values ($1, $2, 'scheduled', 'success', 99, $3, $4, $5)`,
      [meterId, at(89), ...columns(current)],
    );
  });

  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  const get = (path: string, token = viewer) =>
    request(api.server).get(path).set('Authorization', `Bearer ${token}`);
  const history = (query: Record<string, string | number>) =>
    get(
      `/api/meters/${meterId}/obis-readings/history?${new URLSearchParams(query as Record<string, string>)}`,
    );
  const range = { startDate: at(0).toISOString(), endDate: at(89).toISOString() };

  it('GET obis-readings: the latest read with decoded, scaled values (by id or meter number)', async () => {
    for (const key of [meterId, meterNumber]) {
      const res = await get(`/api/meters/${key}/obis-readings`).expect(200);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toMatchObject({
        meterId,
        meterNumber,
        meterStatus: 'active',
        readAt: at(89).toISOString(),
        readingType: 'scheduled',
        communicationStatus: 'success',
        responseTime: 99,
      });
      const byCode = Object.fromEntries(res.body.data.readings.map((r: ObisReadingValue) => [r.obisCode, r]));
      expect(byCode[VOLTAGE]).toEqual({
        obisCode: VOLTAGE,
        name: 'Voltage L1',
        rawValue: 2389,
        scaler: -1,
        unit: 'V',
        value: 238.9,
        quality: 'good',
      });
      expect(byCode[ENERGY]).toMatchObject({ rawValue: 89_000, scaler: -3, unit: 'kWh', value: 89 });
      expect(byCode[CLOCK]).toMatchObject({ name: 'Clock', value: at(89).toISOString() });
    }
  });

  it('GET obis-readings of a meter never read: empty readings, not an error', async () => {
    const admin = await loginAs(api, 'admin');
    const areas = await get('/api/areas', admin).expect(200);
    const other = await request(api.server)
      .post('/api/meters')
      .set('Authorization', `Bearer ${admin}`)
      .send({
        meterNumber: `${meterNumber}-N`,
        meterType: 'single-phase',
        brand: 'b',
        model: 'm',
        area: areas.body.data[0].id,
        ipAddress: '127.0.0.1',
        status: 'active',
      })
      .expect(201);
    const res = await get(`/api/meters/${other.body.data.id}/obis-readings`).expect(200);
    expect(res.body.data).toMatchObject({ readAt: null, readings: [], communicationStatus: null });
  });

  it('unknown meter → 404', async () => {
    await get('/api/meters/00000000-0000-4000-8000-000000000000/obis-readings').expect(404);
    await get('/api/meters/NO-SUCH-METER/obis-readings/history').expect(404);
  });

  it('history without obisCode: read records, newest first, paginated, failed reads included', async () => {
    const first = await history({ ...range, limit: 10 }).expect(200);
    expect(first.body.pagination).toEqual({ total: 90, page: 1, pages: 9, limit: 10 });
    expect(first.body.data).toHaveLength(10);
    expect(first.body.data[0]).toMatchObject({
      readAt: at(89).toISOString(),
      readingType: 'scheduled',
      communicationStatus: 'success',
      responseTime: 99,
      error: null,
    });
    const voltage = first.body.data[0].readings.find((r: ObisReadingValue) => r.obisCode === VOLTAGE);
    expect(voltage).toMatchObject({ value: 238.9, unit: 'V', name: 'Voltage L1' });
    const times = first.body.data.map((r: { readAt: string }) => Date.parse(r.readAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const page5 = await history({ ...range, limit: 10, page: 5 }).expect(200);
    const failed = page5.body.data.find((r: { readAt: string }) => r.readAt === at(45).toISOString());
    expect(failed).toMatchObject({
      communicationStatus: 'failed',
      error: 'connection refused',
      readings: [],
    });
  });

  it('history defaults to the last 24 hours (the 40-day-old read is not in it)', async () => {
    const res = await history({ limit: 100 }).expect(200);
    expect(res.body.pagination.total).toBe(90);
  });

  it('history with obisCode (any spelling): a [{ timestamp, value, unit }] series, oldest first', async () => {
    const res = await history({ ...range, obisCode: '32.7.0' }).expect(200);
    expect(res.body.pagination).toEqual({ total: 89, page: 1, pages: 1, limit: 1000 });
    expect(res.body.data[0]).toEqual({
      timestamp: at(0).toISOString(),
      value: 230,
      unit: 'V',
      quality: 'good',
    });
    expect(res.body.data[1]).toEqual({
      timestamp: at(1).toISOString(),
      value: 230.1,
      unit: 'V',
      quality: 'good',
    });
    // The unusable value is kept as a gap, never as junk; the failed read has no value at all.
    expect(res.body.data.find((p: { timestamp: string }) => p.timestamp === at(50).toISOString())).toEqual({
      timestamp: at(50).toISOString(),
      value: null,
      unit: 'V',
      quality: 'error',
    });
    expect(res.body.data.some((p: { timestamp: string }) => p.timestamp === at(45).toISOString())).toBe(
      false,
    );

    const paged = await history({ ...range, obisCode: VOLTAGE, limit: 30, page: 3 }).expect(200);
    expect(paged.body.pagination).toEqual({ total: 89, page: 3, pages: 3, limit: 30 });
    expect(paged.body.data).toHaveLength(29);
  });

  it('bucket=15m|1h aggregates avg/min/max/last/count of the physical values', async () => {
    const q = await history({ ...range, obisCode: VOLTAGE, bucket: '15m' }).expect(200);
    expect(q.body.pagination.total).toBe(6);
    // First quarter hour: minutes 0..14 → 230.0 .. 231.4
    expect(q.body.data[0]).toEqual({
      timestamp: at(0).toISOString(),
      avg: 230.7,
      min: 230,
      max: 231.4,
      last: 231.4,
      count: 15,
    });
    // Minutes 45..59: 45 failed, 50 unusable → 13 values
    expect(q.body.data[3]).toMatchObject({
      timestamp: at(45).toISOString(),
      count: 13,
      min: 234.6,
      max: 235.9,
      last: 235.9,
    });

    const h = await history({ ...range, obisCode: ENERGY, bucket: '1h' }).expect(200);
    // Minute 45 failed: 59 values in the first hour.
    expect(h.body.data).toEqual([
      { timestamp: at(0).toISOString(), avg: expect.any(Number), min: 0, max: 59, last: 59, count: 59 },
      { timestamp: at(60).toISOString(), avg: 74.5, min: 60, max: 89, last: 89, count: 30 },
    ]);
    expect(h.body.data[0].avg).toBeCloseTo((1770 - 45) / 59, 9); // (0 + … + 59 − 45) / 59

    const d = await history({ ...range, obisCode: ENERGY, bucket: '1d' }).expect(200);
    expect(d.body.data.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(89);
  });

  it('bounds: range, dates, limits, codes and bucket misuse are 400 in the envelope', async () => {
    const bad: Record<string, string | number>[] = [
      { startDate: '2025-01-01T00:00:00Z', endDate: '2025-03-01T00:00:00Z' }, // > 31 days
      { startDate: at(10).toISOString(), endDate: at(0).toISOString() }, // start after end
      { startDate: 'yesterday' },
      { endDate: '2025-13-45' },
      { limit: 101 }, // records page ≤ 100
      { obisCode: VOLTAGE, limit: 1001 }, // series page ≤ 1000
      { limit: 0 },
      { page: 0 },
      { obisCode: 'nonsense' },
      { bucket: '1h' }, // needs obisCode
      { obisCode: VOLTAGE, bucket: '5m' },
      { obisCode: CLOCK, bucket: '1h' }, // not numeric
      { unexpected: 1 },
    ];
    for (const query of bad) {
      const res = await history(query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body).toMatchObject({ success: false, error: 'Bad Request', message: expect.any(String) });
    }
    await history({ startDate: '2025-01-01T00:00:00Z', endDate: '2025-02-01T00:00:00Z' }).expect(200);
  });

  it('requires authentication', async () => {
    await request(api.server).get(`/api/meters/${meterId}/obis-readings`).expect(401);
    await request(api.server).get(`/api/meters/${meterId}/obis-readings/history`).expect(401);
  });
});
