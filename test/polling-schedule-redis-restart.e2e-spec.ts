/**
 * Schedules after a Redis restart that lost everything (issue 8, guarantee 3), against a dedicated
 * redis-server of this suite (the shared one is never stopped): the api reconciles as soon as its queue
 * connection is ready again, and the schedulers are back within max(2 intervals, 10 s).
 */
import { bullRootOptions, pollSlotCount, QUEUES } from '@app/contracts';
import { createTestApi, TestApi } from '@app/testing';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { pollingEnv, waitFor } from './polling-helpers';

const PREFIX = 'hes-sched-restart';
const INTERVAL = 3000;

jest.setTimeout(120_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An empty, non-persistent redis-server on `port`, resolved once it answers PING. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await waitFor(`redis-server on ${port}`, async () => {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('schedules after a Redis restart that lost its data', () => {
  let port: number;
  let redis: ChildProcess | undefined;
  let api: TestApi | undefined;
  let queue: Queue | undefined;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    api = await createTestApi(
      pollingEnv(PREFIX, {
        METER_POLLING_INTERVAL: String(INTERVAL),
        REDIS_URL: `redis://127.0.0.1:${port}/0`,
      }),
    );
    queue = new Queue(QUEUES.POLL, bullRootOptions(`redis://127.0.0.1:${port}/0`, PREFIX));
  });

  afterAll(async () => {
    await queue?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    if (redis) await stopRedis(redis);
  });

  it('restores every scheduler within max(2 intervals, 10 s) of Redis coming back empty', async () => {
    const expected = pollSlotCount(INTERVAL) + 1;
    await waitFor('the initial schedules', async () => (await queue!.getJobSchedulersCount()) === expected);
    await stopRedis(redis!);
    await new Promise((r) => setTimeout(r, 2000));
    redis = await startRedis(port);
    const backAt = Date.now();
    await waitFor(
      'the schedulers to be restored',
      async () => (await queue!.getJobSchedulersCount()) === expected,
      20_000,
      100,
    );
    const restoredIn = Date.now() - backAt;
    expect(restoredIn).toBeLessThanOrEqual(Math.max(2 * INTERVAL, 10_000));
  });
});
