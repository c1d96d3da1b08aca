import { assignFaults } from './faults';
import { startSimulator } from './index';
import { TestClient } from './test-client';
import type { ArrayReading } from './test-client';

describe('simulator fleet model', () => {
  it('assigns exact, seeded fault counts', () => {
    const modes = assignFaults(1000, { dead: 0.05, blackhole: 0.02, slow: 0.05, flapping: 0.01 }, 42);
    const count = (m: string) => modes.filter((x) => x === m).length;
    expect([count('dead'), count('blackhole'), count('slow'), count('flapping'), count('ok')]).toEqual([
      50, 20, 50, 10, 870,
    ]);
    expect(assignFaults(1000, { dead: 0.05 }, 42)).toEqual(assignFaults(1000, { dead: 0.05 }, 42));
    expect(assignFaults(1000, { dead: 0.05 }, 43)).not.toEqual(assignFaults(1000, { dead: 0.05 }, 42));
    expect(() => assignFaults(10, { dead: 0.6, error: 0.6 }, 1)).toThrow(/more than 1/);
  });

  it('reports energy in kWh with scaler -3 when asked, same physical value', async () => {
    const sim = await startSimulator({ meters: 1, format: 'array', energyUnit: 'kWh', seed: 5 });
    const client = new TestClient();
    try {
      const res = await client.post(sim.gatewayUrl, '/api/read', {
        meterNumber: sim.meters[0].meterNumber,
        obisCodes: ['1-0:1.8.0.255'],
      });
      const [r] = (res.json as { readings: ArrayReading[] }).readings;
      expect(r).toMatchObject({ unit: 'kWh', scaler: -3 });
      const wh = sim.control.meterState(sim.meters[0].meterNumber)!.values['1-0:1.8.0.255'];
      expect(Math.abs((r.value as number) - (wh.value as number))).toBeLessThanOrEqual(1);
      expect(wh.physical).toBeCloseTo((wh.value as number) / 1000, 6);
    } finally {
      await client.close();
      await sim.stop();
    }
  });

  it('keeps energy registers growing across a restart, as a real meter would', async () => {
    const energy = (sim: Awaited<ReturnType<typeof startSimulator>>) =>
      sim.meters.map((m) => {
        const v = sim.control.meterState(m.meterNumber)!.values;
        return [v['1-0:1.8.0.255'].value as number, v['1-0:2.8.0.255'].value as number];
      });
    const first = await startSimulator({ meters: 20, seed: 9 });
    await new Promise((r) => setTimeout(r, 1500));
    const before = energy(first);
    await first.stop();
    const second = await startSimulator({ meters: 20, seed: 9 });
    try {
      const after = energy(second);
      after.forEach(([imp, exp], i) => {
        expect(imp).toBeGreaterThanOrEqual(before[i][0]);
        expect(exp).toBeGreaterThanOrEqual(before[i][1]);
      });
    } finally {
      await second.stop();
    }
  });
});
