import { startSimulator } from './index';
import { TestClient } from './test-client';
import type { RunningSimulator } from './index';

const SERIAL = '0-0:96.1.0.255';

/** Meters with their own loopback address (or port) are identified by where the request arrives. */
describe('simulator address-based identity', () => {
  let client: TestClient;
  beforeAll(() => {
    client = new TestClient();
  });
  afterAll(() => client.close());

  const serialAt = async (ip: string, port: number, meterNumber?: string) => {
    const res = await client.post(`http://${ip}:${port}`, '/api/read', { obisCodes: [SERIAL], meterNumber });
    return { status: res.status, serial: (res.json as Record<string, unknown>)[SERIAL] };
  };

  describe('one address per meter (CIDR)', () => {
    let sim: RunningSimulator;
    beforeAll(async () => {
      sim = await startSimulator({ meters: 5, addresses: '127.78.0.0/24', format: 'object' });
    });
    afterAll(() => sim.stop());

    it('gives each meter its own loopback address, skipping .0', () => {
      expect(sim.meters.map((m) => m.ipAddress)).toEqual([
        '127.78.0.1',
        '127.78.0.2',
        '127.78.0.3',
        '127.78.0.4',
        '127.78.0.5',
      ]);
    });

    it('answers as the meter bound to the address, without meterNumber in the body', async () => {
      for (const m of sim.meters) {
        expect(await serialAt(m.ipAddress, m.port)).toEqual({ status: 200, serial: m.meterNumber });
      }
      const c = sim.control.counters();
      for (const m of sim.meters) expect(c.meters[m.meterNumber].reads).toBe(1);
    });

    it('accepts its own meterNumber but rejects another meter’s with 404', async () => {
      const [a, b] = sim.meters;
      expect(await serialAt(a.ipAddress, a.port, a.meterNumber)).toEqual({
        status: 200,
        serial: a.meterNumber,
      });
      expect((await serialAt(a.ipAddress, a.port, b.meterNumber)).status).toBe(404);
    });

    it('still serves every meter through the gateway by meterNumber', async () => {
      const gw = new URL(sim.gatewayUrl);
      for (const m of sim.meters) {
        expect(await serialAt(gw.hostname, Number(gw.port), m.meterNumber)).toEqual({
          status: 200,
          serial: m.meterNumber,
        });
      }
    });
  });

  it('wraps meters over an address list, each with its own port', async () => {
    const sim = await startSimulator({
      meters: 4,
      addresses: ['127.79.1.1', '127.79.1.2'],
      format: 'object',
    });
    try {
      expect(sim.meters.map((m) => m.ipAddress)).toEqual([
        '127.79.1.1',
        '127.79.1.2',
        '127.79.1.1',
        '127.79.1.2',
      ]);
      expect(new Set(sim.meters.map((m) => `${m.ipAddress}:${m.port}`)).size).toBe(4);
      for (const m of sim.meters) expect((await serialAt(m.ipAddress, m.port)).serial).toBe(m.meterNumber);
    } finally {
      await sim.stop();
    }
  });

  it('gives each meter its own port on the gateway host with meterPort', async () => {
    const sim = await startSimulator({ meters: 3, meterPort: 0, format: 'object' });
    try {
      expect(sim.meters.every((m) => m.ipAddress === '127.0.0.1')).toBe(true);
      expect(new Set(sim.meters.map((m) => m.port)).size).toBe(3);
      for (const m of sim.meters) expect((await serialAt(m.ipAddress, m.port)).serial).toBe(m.meterNumber);
    } finally {
      await sim.stop();
    }
  });

  it('refuses non-loopback address ranges', async () => {
    await expect(startSimulator({ meters: 2, addresses: '10.0.0.0/24' })).rejects.toThrow(/loopback/);
  });
});
