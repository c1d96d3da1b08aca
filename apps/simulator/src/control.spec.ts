import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from './index';
import { DEFAULT_OBIS_CODES } from './registers';
import { ArrayReading, TestClient } from './test-client';
import type { CounterSnapshot, ManifestEntry, MeterDetail, MeterSummary, RunningSimulator } from './index';

describe('simulator control API (HTTP)', () => {
  let sim: RunningSimulator;
  let client: TestClient;
  let dir: string;
  const ctl = (path: string) => client.get(sim.controlUrl + path);
  const ctlSend = (method: 'POST' | 'PUT', path: string, body: unknown) =>
    client.send(method, sim.controlUrl + path, JSON.stringify(body), 5000);
  const read = (meterNumber: string) =>
    client.post(sim.gatewayUrl, '/api/read', { meterNumber, obisCodes: DEFAULT_OBIS_CODES });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-control-'));
    sim = await startSimulator({
      meters: 20,
      seed: 11,
      format: 'array',
      faults: { error: 0.1 },
      prefix: 'CTL',
      manifestPath: join(dir, 'meters.json'),
    });
    client = new TestClient();
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on loopback only', () => {
    expect(new URL(sim.controlUrl).hostname).toBe('127.0.0.1');
    expect(new URL(sim.gatewayUrl).hostname).toBe('127.0.0.1');
  });

  it('writes the manifest file and serves it', async () => {
    const file = JSON.parse(readFileSync(join(dir, 'meters.json'), 'utf8')) as ManifestEntry[];
    expect(file).toEqual(sim.meters);
    expect(file[0]).toEqual({
      meterNumber: 'CTL-000001',
      ipAddress: '127.0.0.1',
      port: Number(new URL(sim.gatewayUrl).port),
      format: 'array',
      fault: expect.stringMatching(/^(ok|error)$/),
    });
    expect(file.filter((m) => m.fault === 'error')).toHaveLength(2);
    expect((await ctl('/manifest')).json).toEqual(sim.meters);
    expect((await ctl('/health')).json).toMatchObject({
      status: 'ok',
      meters: 20,
      gatewayUrl: sim.gatewayUrl,
    });
  });

  it('lists meters with paging and a fault filter', async () => {
    const page = (await ctl('/meters?offset=5&limit=3')).json as { total: number; meters: MeterSummary[] };
    expect(page.total).toBe(20);
    expect(page.meters.map((m) => m.meterNumber)).toEqual(['CTL-000006', 'CTL-000007', 'CTL-000008']);
    const errors = (await ctl('/meters?fault=error')).json as { total: number; meters: MeterSummary[] };
    expect(errors.total).toBe(2);
    expect(errors.meters.every((m) => m.fault === 'error')).toBe(true);
    expect((await ctl('/meters?fault=nonsense')).status).toBe(400);
  });

  it('counts reads per meter so "each meter polled exactly once" can be proven', async () => {
    await ctlSend('POST', '/counters/reset', {});
    const started = Date.now();
    await Promise.all(sim.meters.map((m) => read(m.meterNumber)));
    await read('CTL-000001');
    await client.post(sim.gatewayUrl, '/api/write', {
      meterNumber: 'CTL-000002',
      obisCode: '0-0:17.0.0.255',
      value: 5,
    });
    const c = (await ctl('/counters?recentReads=1')).json as CounterSnapshot;
    expect(c.totals.reads).toBe(21);
    expect(c.totals.writes).toBe(1);
    expect(c.totals.answered).toBe(19); // two meters answer 500
    expect(c.byFault.ok.reads + c.byFault.error.reads).toBe(21);
    expect(c.byFault.error.reads).toBe(2);
    expect(Object.keys(c.meters)).toHaveLength(20);
    expect(c.meters['CTL-000001'].reads).toBe(2);
    expect(c.meters['CTL-000002']).toMatchObject({ reads: 1, writes: 1 });
    for (const m of sim.meters.slice(2)) expect(c.meters[m.meterNumber].reads).toBe(1);
    const times = c.meters['CTL-000001'].recentReads!;
    expect(times).toHaveLength(2);
    expect(times[0]).toBeGreaterThanOrEqual(started - 5);
    expect(times[1]).toBeGreaterThanOrEqual(times[0]);

    await ctlSend('POST', '/counters/reset', {});
    const zero = (await ctl('/counters')).json as CounterSnapshot;
    expect(zero.totals.reads).toBe(0);
    expect(zero.meters).toEqual({});
  });

  it('reports a meter’s true values and exactly what it last served', async () => {
    const n = sim.meters.find((m) => m.fault === 'ok')!.meterNumber;
    const res = await read(n);
    const detail = (await ctl(`/meters/${n}`)).json as MeterDetail;
    expect(detail).toMatchObject({ meterNumber: n, fault: 'ok', connected: true, dedicated: false });
    for (const r of (res.json as { readings: ArrayReading[] }).readings) {
      expect(detail.lastServed!.values[r.obisCode]).toMatchObject({
        value: r.value,
        unit: r.unit,
        scaler: r.scaler,
      });
    }
    const v = detail.values['1-0:32.7.0.255'];
    expect(v.unit).toBe('V');
    expect(v.physical).toBeCloseTo((v.value as number) / 10, 6);
    expect(detail.values['1-0:1.8.0.255'].value).toBeGreaterThanOrEqual(
      detail.lastServed!.values['1-0:1.8.0.255'].value as number,
    );
    expect((await ctl('/meters/NOPE')).status).toBe(404);
  });

  it('sets one meter’s fault, or many at once', async () => {
    const n = 'CTL-000003';
    const bad = await ctlSend('PUT', `/meters/${n}/fault`, { mode: 'sleepy' });
    expect(bad.status).toBe(400);
    const slow = await ctlSend('PUT', `/meters/${n}/fault`, { mode: 'slow', slowMs: 200 });
    expect(slow.json).toMatchObject({ meterNumber: n, fault: 'slow', slowMs: 200 });
    const started = Date.now();
    expect((await read(n)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    const bulk = await ctlSend('POST', '/faults', {
      mode: 'error',
      meterNumbers: ['CTL-000004', 'CTL-000005'],
    });
    expect(bulk.json).toEqual({ changed: 2 });
    expect((await read('CTL-000004')).status).toBe(500);
    expect((await read('CTL-000005')).status).toBe(500);
    expect((await ctlSend('POST', '/faults', { mode: 'ok', meterNumbers: ['NOPE'] })).status).toBe(404);
    expect((await ctlSend('POST', '/faults', { mode: 'ok' })).json).toEqual({ changed: 20 });
    expect((await read('CTL-000004')).status).toBe(200);
    expect(((await ctl('/meters?fault=ok')).json as { total: number }).total).toBe(20);
  });

  it('answers unknown routes with 404 JSON', async () => {
    const res = await ctl('/nothing');
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: expect.any(String) });
  });
});
