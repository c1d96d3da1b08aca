import { PROFILE_STATUS, startSimulator } from './index';
import { readProfile } from './load-profile';
import { MeterStore, SimMeter } from './meter-model';
import type { RunningSimulator } from './index';
import { TestClient } from './test-client';

interface ProfileAnswer {
  profile: string;
  capturePeriodSec: number;
  captureObjects: { obisCode: string; unit: string; scaler: number }[];
  entries: [string, number, number, number][];
  more: boolean;
}

const PERIOD_S = 60;

describe('simulator load profile', () => {
  let sim: RunningSimulator;
  const client = new TestClient();

  beforeAll(async () => {
    sim = await startSimulator({ meters: 4, format: 'array', profilePeriodSec: PERIOD_S, seed: 7 });
  });
  afterAll(async () => {
    await client.close();
    await sim.stop();
  });

  const profile = async (meterNumber: string, from: number, to: number) => {
    const res = await client.post(sim.gatewayUrl, '/api/read', {
      meterNumber,
      profile: '1-0:99.1.0.255',
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    });
    expect(res.status).toBe(200);
    return res.json as ProfileAnswer;
  };

  it('answers at most 96 entries per page, on period boundaries in UTC, with more until the end', async () => {
    const n = sim.meters[0].meterNumber;
    const now = Date.now();
    const from = now - 200 * PERIOD_S * 1000;
    const first = await profile(n, from, now);
    expect(first.capturePeriodSec).toBe(PERIOD_S);
    expect(first.captureObjects.map((c) => c.obisCode)).toEqual(['1-0:1.8.0.255', '1-0:2.8.0.255']);
    expect(first.entries).toHaveLength(96);
    expect(first.more).toBe(true);
    const all = [...first.entries];
    let page = first;
    while (page.more) {
      page = await profile(n, Date.parse(all[all.length - 1][0]) + 1, now);
      all.push(...page.entries);
    }
    expect(all.length).toBeGreaterThanOrEqual(199);
    expect(all.length).toBeLessThanOrEqual(201);
    for (let i = 0; i < all.length; i++) {
      const [ts, imp, exp, status] = all[i];
      expect(ts.endsWith('Z')).toBe(true);
      expect(Date.parse(ts) % (PERIOD_S * 1000)).toBe(0);
      expect(status).toBe(0);
      if (i > 0) {
        expect(Date.parse(ts) - Date.parse(all[i - 1][0])).toBe(PERIOD_S * 1000);
        expect(imp).toBeGreaterThanOrEqual(all[i - 1][1]);
        expect(exp).toBeGreaterThanOrEqual(all[i - 1][2]);
      }
    }
    // The same question gives the same answer: the profile is computed, not sampled.
    expect((await profile(n, from, now)).entries).toEqual(first.entries);
  });

  it('agrees with the energy register', async () => {
    const n = sim.meters[1].meterNumber;
    const state = sim.control.meterState(n)!;
    const register = state.values['1-0:1.8.0.255'].value as number;
    const { entries } = await profile(n, state.valuesAt - 2 * PERIOD_S * 1000, state.valuesAt);
    const last = entries[entries.length - 1];
    const hours = (state.valuesAt - Date.parse(last[0])) / 3_600_000;
    const power = state.values['1-0:1.7.0.255'].value as number;
    // The register grew from the last capture at about the meter's power (load swing 30 %, noise 5 %).
    expect(register - last[1]).toBeGreaterThanOrEqual(0);
    expect(register - last[1]).toBeLessThanOrEqual(power * 1.5 * hours + 2);
  });

  it('keeps recording while dead: the profile has every entry of the outage once it answers again', async () => {
    const n = sim.meters[2].meterNumber;
    const before = Date.now();
    await sim.control.setFault(n, 'dead');
    await client.failure(sim.gatewayUrl, '/api/read', { meterNumber: n, obisCodes: [] });
    await sim.control.setFault(n, 'ok');
    const { entries } = await profile(n, before - 10 * PERIOD_S * 1000, Date.now());
    expect(entries.length).toBeGreaterThanOrEqual(9);
    expect(entries.every(([, , , s]) => s === 0)).toBe(true);
  });

  it('power-off refuses connections, like dead', async () => {
    const n = sim.meters[3].meterNumber;
    await sim.control.setFault(n, 'power-off');
    const refused = await client.failure(sim.gatewayUrl, '/api/read', { meterNumber: n, obisCodes: [] });
    expect(refused.code ?? refused.message).toBeTruthy();
    await sim.control.setFault(n, 'ok');
    expect((await client.post(sim.gatewayUrl, '/api/read', { meterNumber: n, obisCodes: [] })).status).toBe(
      200,
    );
  });
});

describe('load profile model', () => {
  const period = 900_000;
  const meter = () =>
    new SimMeter({
      index: 0,
      meterNumber: 'M-1',
      seed: 3,
      format: 'array',
      energyUnit: 'Wh',
      noiseIntervalMs: 1000,
      ipAddress: '127.0.0.1',
      port: 1,
      dedicated: false,
      startedAt: Date.now(),
      store: new MeterStore(1),
    });

  it('records nothing during a power-off, stops energy, and flags the entry after it', () => {
    const m = meter();
    const now = Math.floor(Date.now() / period) * period + 1000;
    const downAt = now - 6 * period + 60_000; // inside an interval
    const upAt = now - 3 * period + 30_000;
    const energyBefore = m.energyAt(downAt)[0];
    m.setPowered(false, downAt);
    m.setPowered(true, upAt);
    expect(m.energyAt(upAt)[0]).toBeCloseTo(energyBefore, 6);
    const { entries, more } = readProfile(m, period, now - 10 * period, now, now);
    expect(more).toBe(false);
    const times = entries.map(([ts]) => Date.parse(ts));
    // Boundaries now−5p, now−4p, now−3p (all within the outage) are missing.
    const boundary = (k: number) => Math.floor(now / period) * period - k * period;
    expect(times).toEqual([9, 8, 7, 6, 2, 1, 0].map(boundary));
    const flagged = entries
      .filter(([, , , s]) => s & PROFILE_STATUS.POWER_DOWN)
      .map(([ts]) => Date.parse(ts));
    expect(flagged).toEqual([boundary(2)]);
  });

  it('flags the entry after a clock setting and shifts timestamps to the meter clock', () => {
    const m = meter();
    const now = Math.floor(Date.now() / period) * period + 1000;
    m.setClock(now - period + 120_000, now - period); // set 2 min fast one period ago
    const { entries } = readProfile(m, period, now - 3 * period, now + period, now);
    const cad = entries.filter(([, , , s]) => s & PROFILE_STATUS.CLOCK_ADJUSTED);
    expect(cad).toHaveLength(1);
    // The meter's clock is 2 min fast: its last capture is at its own boundary, 2 min of true time earlier.
    expect(Date.parse(entries[entries.length - 1][0])).toBe(Math.floor(now / period) * period);
  });
});
