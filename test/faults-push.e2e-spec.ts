/**
 * Meter push under faults (issue 13), with real processes: an api (push listener) and two workers against a
 * PostgreSQL and a Redis of this suite's own, while meters keep pushing signed readings. In turn PostgreSQL
 * is restarted (fast shutdown), Redis is stopped and started again, and a worker is SIGKILLed. After each:
 * every push the api acknowledged (2xx) is stored exactly once (none lost; the database refuses a second
 * read of one meter and instant), every other answer is a 503 envelope, pushes made while Redis is away
 * are refused at once (503 "redis unavailable", not a hang, not a 500), and every process but the killed
 * worker is still up. The scenarios share one stack and run in order.
 */
import {
  DedicatedServices,
  freeLoopbackPort,
  saveOutputs,
  startDedicatedServices,
  startProcess,
  StartedProcess,
  TEST_API_ENV_DEFAULTS,
} from '@app/testing';
import { createHmac, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { PushSecretCipher } from '../apps/api/src/push/push-secret.cipher';
import { allAlive } from './fault-assertions';
import { sleep, waitFor } from './polling-helpers';

const METERS = 20;
/** Meters pushing at once (each loop pushes for the next meter as soon as its last push is answered). */
const PUSHERS = 4;
/** Longest a refused push may take while Redis is away: a hang would be the request timeout (10 s). */
const FAST_REFUSAL_MS = 3000;

jest.setTimeout(120_000);

interface PushOutcome {
  meterId: string;
  readAt: string;
  /** HTTP status, or 0 when no answer came (connection error, timeout). */
  status: number;
  message?: string;
  sentAt: number;
  ms: number;
}

describe('meter push: no acknowledged push lost when PostgreSQL, Redis or a worker fails', () => {
  let services: DedicatedServices;
  let api: StartedProcess;
  let workers: StartedProcess[] = [];
  let db: Pool;
  let pushUrl: string;
  const meters: { id: string; meterNumber: string; secret: string }[] = [];
  const baseMs = Date.now() - 3600_000;
  let seq = 0;

  /** Meters push round-robin, each read at its own instant, until `stop()`; every answer is recorded. */
  function startPushing(): { outcomes: readonly PushOutcome[]; stop: () => Promise<PushOutcome[]> } {
    const outcomes: PushOutcome[] = [];
    let running = true;
    const loop = async () => {
      while (running) {
        const n = seq++;
        const meter = meters[n % METERS];
        const readAt = new Date(baseMs + n).toISOString();
        const body = JSON.stringify({
          meterNumber: meter.meterNumber,
          timestamp: readAt,
          readings: [{ obisCode: '1-0:15.8.0.255', value: 1000 + n, unit: 'Wh', scaler: 0 }],
        });
        const t = Math.floor(Date.now() / 1000);
        const v1 = createHmac('sha256', meter.secret).update(`${t}.${body}`).digest('hex');
        const sentAt = Date.now();
        const outcome: PushOutcome = { meterId: meter.id, readAt, status: 0, sentAt, ms: 0 };
        try {
          const res = await fetch(`${pushUrl}/push/readings`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json', 'x-meter-signature': `t=${t},v1=${v1}` },
            signal: AbortSignal.timeout(10_000),
          });
          outcome.status = res.status;
          outcome.message = ((await res.json()) as { message?: string }).message;
        } catch (err) {
          outcome.message = (err as Error).message;
        }
        outcome.ms = Date.now() - sentAt;
        outcomes.push(outcome);
        await sleep(2);
      }
    };
    const loops = Array.from({ length: PUSHERS }, loop);
    return {
      outcomes,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        return outcomes;
      },
    };
  }

  /**
   * Every acknowledged push stored exactly once (waiting for late stores: retried jobs, a dead worker's
   * jobs taken over), and every push not acknowledged was answered 503 in the envelope.
   */
  async function expectAcknowledgedStoredOnce(outcomes: PushOutcome[]): Promise<void> {
    const acknowledged = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    expect(acknowledged.length).toBeGreaterThan(0);
    const refusedOtherwise = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && o.status !== 503);
    expect(refusedOtherwise.map((o) => `${o.status} ${o.message}`)).toEqual([]);

    const storedCounts = async () => {
      const { rows } = await db.query<{ meter_id: string; read_at: Date; n: number }>(
        `select meter_id, read_at, count(*)::int as n from meter_reads
         where reading_type = 'push' and meter_id = any($1::uuid[]) group by 1, 2`,
        [meters.map((m) => m.id)],
      );
      return new Map(rows.map((r) => [`${r.meter_id}@${r.read_at.toISOString()}`, r.n]));
    };
    let stored = new Map<string, number>();
    const missing = () => acknowledged.filter((o) => !stored.has(`${o.meterId}@${o.readAt}`));
    await waitFor(
      'every acknowledged push stored',
      async () => {
        stored = await storedCounts();
        return missing().length === 0;
      },
      30_000,
      250,
    ).catch(() => undefined);
    expect(missing().map((o) => `${o.meterId}@${o.readAt} (acknowledged ${o.status})`)).toEqual([]);
    expect([...stored].filter(([, n]) => n > 1)).toEqual([]);
  }

  /** Until every pusher has had a push sent after `after` acknowledged (the api takes pushes, end to end). */
  const untilAcknowledgedAfter = (pushing: { outcomes: readonly PushOutcome[] }, after: number) =>
    waitFor(
      `${PUSHERS} pushes sent after ${new Date(after).toISOString()} acknowledged`,
      async () =>
        pushing.outcomes.filter((o) => o.sentAt > after && o.status >= 200 && o.status < 300).length >=
        PUSHERS,
      20_000,
      20,
    );

  const expectAlive = (processes: Record<string, StartedProcess>) => {
    expect(allAlive(processes).problems).toEqual([]);
    for (const [name, p] of Object.entries(processes)) {
      expect({
        name,
        unhandled: /Unhandled 'error' event|unhandled promise rejection/i.test(p.output()),
      }).toEqual({ name, unhandled: false });
    }
  };

  beforeAll(async () => {
    services = await startDedicatedServices();
    db = new Pool({ connectionString: services.databaseUrl, max: 2, connectionTimeoutMillis: 2000 });
    db.on('error', () => undefined);
    const key = randomBytes(32).toString('hex');
    const [port, pushPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    pushUrl = `http://127.0.0.1:${pushPort}`;
    const env = {
      ...TEST_API_ENV_DEFAULTS,
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      QUEUE_PREFIX: 'hes-fpush',
      PORT: String(port),
      PUSH_PORT: String(pushPort),
      PUSH_SECRET_KEY: key,
      PUSH_RATE_LIMIT_PER_MINUTE: '100000',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
      SWAGGER_ENABLED: 'false',
    };
    [api, ...workers] = await Promise.all([
      startProcess('api', { env, readyPattern: /push listener on port/, readyTimeoutMs: 180_000 }),
      startProcess('worker', { env, readyPattern: /worker ready/, readyTimeoutMs: 180_000 }),
      startProcess('worker', { env, readyPattern: /worker ready/, readyTimeoutMs: 180_000 }),
    ]);

    // The database refuses a second read of one meter and instant: "exactly once" does not rest on luck.
    const unique = await db.query(
      `select 1 from pg_indexes where tablename = 'meter_reads' and indexname = 'meter_reads_meter_read_at_key'
       and indexdef like 'CREATE UNIQUE INDEX%'`,
    );
    expect(unique.rowCount).toBe(1);

    const area = await db.query<{ id: string }>(
      `insert into areas (name, code) values ('Push faults', 'PUSH-FAULTS') returning id`,
    );
    const numbers = Array.from({ length: METERS }, (_, i) => `FP-${String(i).padStart(4, '0')}`);
    // No address: never polled, every read here is pushed.
    const { rows } = await db.query<{ id: string; meter_number: string }>(
      `insert into meters (meter_number, meter_type, brand, model, area_id, status)
       select n, 'single-phase', 'sim', 'P1', $2, 'online' from unnest($1::text[]) n returning id, meter_number`,
      [numbers, area.rows[0].id],
    );
    const cipher = new PushSecretCipher({ PUSH_SECRET_KEY: key } as never);
    for (const row of rows) {
      meters.push({ id: row.id, meterNumber: row.meter_number, secret: randomBytes(32).toString('hex') });
    }
    await db.query(
      `insert into meter_push_secrets (meter_id, secret) select * from unnest($1::uuid[], $2::text[])`,
      [meters.map((m) => m.id), meters.map((m) => cipher.encrypt(m.secret))],
    );
  });

  afterAll(async () => {
    await Promise.allSettled([api, ...workers].map((p) => p?.stop('SIGKILL')));
    // What each process logged, for a failing run: $TMPDIR/hes-faults-push-{api,worker-1,worker-2}.log
    saveOutputs('faults-push', { api, 'worker-1': workers[0], 'worker-2': workers[1] });
    await db?.end().catch(() => undefined);
    await services?.stop();
  });

  it('PostgreSQL restarted (fast shutdown) while meters push: every acknowledged push stored once', async () => {
    const pushing = startPushing();
    await sleep(1000);
    await services.restartPostgres('fast');
    await untilAcknowledgedAfter(pushing, Date.now());
    const outcomes = await pushing.stop();

    await expectAcknowledgedStoredOnce(outcomes);
    expectAlive({ api, worker1: workers[0], worker2: workers[1] });
  });

  it('Redis stopped and started while meters push: fast 503 meanwhile, every acknowledged push stored once', async () => {
    const pushing = startPushing();
    await sleep(1000);
    await services.stopRedis();
    const downAt = Date.now();
    // Long enough for pushes to start and be answered within it, even on a slow machine.
    await sleep(4000);
    const upAt = Date.now();
    await services.startRedis();
    await untilAcknowledgedAfter(pushing, upAt).catch(() => undefined); // asserted below
    const outcomes = await pushing.stop();

    // Sent and answered while Redis was away: refused at once, in the envelope, naming Redis.
    const duringOutage = outcomes.filter((o) => o.sentAt >= downAt && o.sentAt + o.ms <= upAt);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(
      duringOutage.filter(
        (o) => o.status !== 503 || o.message !== 'redis unavailable' || o.ms >= FAST_REFUSAL_MS,
      ),
    ).toEqual([]);
    // And pushes are accepted again once it is back.
    expect(outcomes.some((o) => o.sentAt > upAt && o.status === 202)).toBe(true);

    await expectAcknowledgedStoredOnce(outcomes);
    expectAlive({ api, worker1: workers[0], worker2: workers[1] });
  });

  it('a worker SIGKILLed while meters push: the other stores its jobs, every acknowledged push stored once', async () => {
    const pushing = startPushing();
    await sleep(1000);
    await workers[0].stop('SIGKILL');
    await untilAcknowledgedAfter(pushing, Date.now());
    const outcomes = await pushing.stop();

    await expectAcknowledgedStoredOnce(outcomes);
    expectAlive({ api, worker2: workers[1] });
  });
});
