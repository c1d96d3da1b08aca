/**
 * Issue 4, test 5: on-demand reads work while 1,000 meters are being polled: each answers with the meter's
 * values, is stored once as an on-demand read, and polling carries on meanwhile. Real api, worker process,
 * simulator and databases. How fast they answer is a benchmark's business (`npm run bench:commands`, and
 * read-obis p95 in `npm run bench:fleet`): a wall-clock bound here would only measure the shared machine.
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

  it('answers every on-demand read and stores it once while the fleet is polled', async () => {
    const answered = () => stack.sim.control.counters().totals.answered;
    // Polling at full swing first: at least one whole interval of the fleet answered.
    const deadline = Date.now() + 60_000;
    while (answered() < FLEET && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(answered()).toBeGreaterThanOrEqual(FLEET);

    const polledBefore = answered();
    const sampled = Array.from({ length: SAMPLES }, (_, i) => meterIds[(i * 137) % meterIds.length]);
    for (const meterId of sampled) {
      const res = await request(stack.api.server)
        .post(`/api/meters/${meterId}/read-obis`)
        .set('Authorization', `Bearer ${stack.tokens.operator}`)
        .send({});
      expect(res.status).toBe(200);
      expect(res.body.data.readings).toHaveLength(17);
      await new Promise((r) => setTimeout(r, 300));
    }
    // The reads really ran during polling: the simulator answered scheduled reads besides ours meanwhile.
    expect(answered() - polledBefore).toBeGreaterThan(SAMPLES);

    const { rows } = await db.query<{ meter_id: string; n: number }>(
      `select meter_id, count(*)::int as n from meter_reads
       where meter_id = any($1::uuid[]) and reading_type = 'on-demand' group by meter_id`,
      [meterIds],
    );
    expect(new Map(rows.map((r) => [r.meter_id, r.n]))).toEqual(new Map(sampled.map((id) => [id, 1])));

    // An on-demand read does not knock its meter off the schedule: each is read on schedule again after it
    // (a tick that met the on-demand read's lock may be skipped, the next one may not).
    const readAgain = async () =>
      (
        await db.query<{ n: number }>(
          `select count(distinct d.meter_id)::int as n from meter_reads d
           join meter_reads s on s.meter_id = d.meter_id and s.reading_type = 'scheduled'
             and s.communication_status <> 'failed' and s.read_at > d.read_at
           where d.meter_id = any($1::uuid[]) and d.reading_type = 'on-demand'`,
          [sampled],
        )
      ).rows[0].n;
    const scheduleDeadline = Date.now() + 3 * INTERVAL_MS;
    while ((await readAgain()) < SAMPLES && Date.now() < scheduleDeadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await readAgain()).toBe(SAMPLES);
  });
});
