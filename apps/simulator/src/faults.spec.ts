import { startSimulator } from './index';
import { DEFAULT_OBIS_CODES } from './registers';
import { TestClient } from './test-client';
import type { FaultMode, RunningSimulator } from './index';

const codes = [...DEFAULT_OBIS_CODES];
const RESET_CODES = ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'];

/** Every fault mode, seen from a real HTTP client, for gateway (meterNumber) and dedicated (address) meters. */
describe.each([
  ['gateway', {}],
  ['dedicated address', { addresses: '127.77.0.0/28' }],
])('simulator faults, %s meters', (kind, addressing) => {
  let sim: RunningSimulator;
  let client: TestClient;
  const dedicated = kind !== 'gateway';

  beforeAll(async () => {
    sim = await startSimulator({
      meters: 7,
      seed: 3,
      faults: { dead: 1 / 7, blackhole: 1 / 7, slow: 1 / 7, error: 1 / 7, garbage: 1 / 7, flapping: 1 / 7 },
      slowMs: 400,
      flappingEvery: 2,
      ...addressing,
    });
    client = new TestClient();
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  const meterIn = (fault: FaultMode) => {
    const m = sim.meters.find((x) => x.fault === fault);
    if (!m) throw new Error(`no ${fault} meter`);
    return m;
  };
  const readOf = (meterNumber: string, timeoutMs = 5000) => {
    const m = sim.meters.find((x) => x.meterNumber === meterNumber)!;
    const base = `http://${m.ipAddress}:${m.port}`;
    return {
      ok: () => client.post(base, '/api/read', { meterNumber, obisCodes: codes }, timeoutMs),
      fail: () => client.failure(base, '/api/read', { meterNumber, obisCodes: codes }, timeoutMs),
    };
  };

  it('assigns exactly one meter to each mode and lists it in the manifest', () => {
    expect(sim.meters.map((m) => m.fault).sort()).toEqual(
      ['blackhole', 'dead', 'error', 'flapping', 'garbage', 'ok', 'slow'].sort(),
    );
    expect(meterIn('slow').slowMs).toBe(400);
    expect(meterIn('flapping').flappingEvery).toBe(2);
    if (dedicated) expect(new Set(sim.meters.map((m) => m.ipAddress)).size).toBe(7);
  });

  it('ok answers 200 JSON', async () => {
    const res = await readOf(meterIn('ok').meterNumber).ok();
    expect(res.status).toBe(200);
    expect(res.json).toBeDefined();
  });

  it(dedicated ? 'dead refuses the connection' : 'dead resets the connection', async () => {
    const err = await readOf(meterIn('dead').meterNumber).fail();
    if (dedicated) expect(err.code).toBe('ECONNREFUSED');
    else expect(RESET_CODES).toContain(err.code);
  });

  it('blackhole accepts but never answers (client timeout)', async () => {
    const started = Date.now();
    const err = await readOf(meterIn('blackhole').meterNumber, 500).fail();
    expect(err.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('slow answers correctly, but only after the configured delay', async () => {
    const started = Date.now();
    const res = await readOf(meterIn('slow').meterNumber).ok();
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(res.status).toBe(200);
    expect(res.json).toBeDefined();
  });

  it('error answers HTTP 500', async () => {
    const res = await readOf(meterIn('error').meterNumber).ok();
    expect(res.status).toBe(500);
  });

  it('garbage answers bodies no JSON parser accepts, rotating invalid JSON, HTML, truncated, empty', async () => {
    const r = readOf(meterIn('garbage').meterNumber);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        const res = await r.ok();
        expect(res.json).toBeUndefined();
        seen.push(res.contentType.includes('html') ? 'html' : res.text === '' ? 'empty' : 'invalid-json');
      } catch (err) {
        expect(RESET_CODES).toContain((err as NodeJS.ErrnoException).code);
        seen.push('truncated');
      }
    }
    expect(seen.sort()).toEqual(['empty', 'html', 'invalid-json', 'truncated']);
  });

  it('flapping alternates ok / dead every N reads', async () => {
    const r = readOf(meterIn('flapping').meterNumber);
    const pattern: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        pattern.push((await r.ok()).status === 200 ? 'ok' : 'bad');
      } catch {
        pattern.push('dead');
      }
    }
    expect(pattern).toEqual(['ok', 'ok', 'dead', 'dead', 'ok', 'ok']);
  });

  it('counts every read per meter, including faulted ones', async () => {
    sim.control.resetCounters();
    const ok = meterIn('ok').meterNumber;
    const err = meterIn('error').meterNumber;
    const dead = meterIn('dead').meterNumber;
    await readOf(ok).ok();
    await readOf(ok).ok();
    await readOf(err).ok();
    await readOf(dead).fail();
    const c = sim.control.counters({ recentReads: true });
    expect(c.meters[ok]).toMatchObject({ reads: 2, answered: 2, writes: 0 });
    expect(c.meters[ok].recentReads).toHaveLength(2);
    expect(c.meters[err]).toMatchObject({ reads: 1, answered: 0 });
    expect(c.byFault.error.reads).toBe(1);
    if (dedicated) {
      // A refused connection never reaches the simulator.
      expect(c.meters[dead]).toBeUndefined();
      expect(c.totals.reads).toBe(3);
    } else {
      expect(c.meters[dead]).toMatchObject({ reads: 1, answered: 0 });
      expect(c.totals.reads).toBe(4);
    }
  });

  it('switches fault modes at run time, and back', async () => {
    const n = meterIn('ok').meterNumber;
    const r = readOf(n);
    await sim.control.setFault(n, 'dead');
    // The client's kept-alive connection is cut first; a new connection is then refused.
    expect([...RESET_CODES, 'ECONNREFUSED']).toContain((await r.fail()).code);
    const err = await r.fail();
    if (dedicated) expect(err.code).toBe('ECONNREFUSED');
    else expect(RESET_CODES).toContain(err.code);
    await sim.control.setFault(n, 'error');
    expect((await r.ok()).status).toBe(500);
    await sim.control.setFault(n, 'flapping', { flappingEvery: 1 });
    expect((await r.ok()).status).toBe(200);
    await expect(r.fail()).resolves.toBeDefined();
    expect((await r.ok()).status).toBe(200);
    await sim.control.setFault(n, 'ok');
    expect((await r.ok()).status).toBe(200);
    expect(sim.control.getMeter(n)).toMatchObject({ fault: 'ok', listening: true });
  });

  it('stops promptly even with a request held by a blackholed meter', async () => {
    const other = await startSimulator({ meters: 1, faults: { blackhole: 1 }, ...addressing });
    const m = other.meters[0];
    const pending = client.failure(`http://${m.ipAddress}:${m.port}`, '/api/read', {
      meterNumber: m.meterNumber,
      obisCodes: codes,
    });
    await new Promise((r) => setTimeout(r, 100));
    await other.stop();
    // Reset, not the client's own 5 s timeout: stop() cut the held connection instead of waiting for it.
    expect(RESET_CODES).toContain((await pending).code);
  });
});
