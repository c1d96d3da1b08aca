/**
 * Issue 4, test 5: an on-demand read answers well inside one second while 1,000 meters are being polled.
 * Real api, worker process, simulator and databases. The number quoted in notes comes from the benchmark;
 * this test holds a generous bound (median < 1000 ms) so it stays robust on a loaded 2-core machine.
 */
import { Client } from 'pg';
import request from 'supertest';
import { startCommandStack, stackEnv, type CommandStack } from './commands-fixtures';

const FLEET = 1000;
const INTERVAL_MS = 5000;
const SAMPLES = 7;

describe('On-demand read under polling load (e2e)', () => {
  let stack: CommandStack;
  let db: Client;
  let meterIds: string[];

  beforeAll(async () => {
    stack = await startCommandStack(
      { meters: FLEET, seed: 5, prefix: `LD${Date.now().toString(36).slice(-4)}` },
      stackEnv({
        QUEUE_PREFIX: 'hes-commands-load',
        METER_POLLING_INTERVAL: String(INTERVAL_MS),
        METER_TIMEOUT_MS: '3000',
      }),
    );
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    // The fleet goes in with one statement (registration is not what this test measures); the polling
    // ticks pick meters up from PostgreSQL.
    const gateway = new URL(stack.sim.gatewayUrl);
    const { rows } = await db.query<{ id: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, ip_address, port, status)
       select n, 'three-phase', 'simulated', 'SIM-1', $2, $3, $4, 'online' from unnest($1::text[]) as n
       returning id`,
      [stack.sim.meters.map((m) => m.meterNumber), stack.areaId, gateway.hostname, Number(gateway.port)],
    );
    meterIds = rows.map((r) => r.id);
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  it('answers in well under a second while the fleet is polled', async () => {
    const answered = () => stack.sim.control.counters().totals.answered;
    // Polling at full swing first: at least one whole interval of the fleet answered.
    const deadline = Date.now() + 60_000;
    while (answered() < FLEET && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(answered()).toBeGreaterThanOrEqual(FLEET);

    const polledBefore = answered();
    const windowStart = Date.now();
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const meterId = meterIds[(i * 137) % meterIds.length];
      const started = performance.now();
      const res = await request(stack.api.server)
        .post(`/api/meters/${meterId}/read-obis`)
        .set('Authorization', `Bearer ${stack.tokens.operator}`)
        .send({});
      latencies.push(performance.now() - started);
      expect(res.status).toBe(200);
      expect(res.body.data.readings).toHaveLength(17);
      await new Promise((r) => setTimeout(r, 300));
    }
    const windowSeconds = (Date.now() - windowStart) / 1000;
    const polledPerSecond = (answered() - polledBefore - SAMPLES) / windowSeconds;
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `on-demand read under load: median ${median.toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms ` +
        `(n=${SAMPLES}); scheduled polls meanwhile ${polledPerSecond.toFixed(0)}/s`,
    );
    // The reads really ran during polling: the fleet kept being read at a good fraction of its rate.
    expect(polledPerSecond).toBeGreaterThan((FLEET / (INTERVAL_MS / 1000)) * 0.3);
    expect(median).toBeLessThan(1000);

    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from meter_reads where meter_id = any($1::uuid[]) and reading_type = 'on-demand'`,
      [meterIds],
    );
    expect(rows[0].n).toBe(SAMPLES);
  });
});
