/**
 * Schedules after a Redis restart that lost everything (issue 8, guarantee 3), against a dedicated
 * redis-server of this suite (the shared one is never stopped): the api reconciles as soon as its queue
 * connection is ready again, and the schedulers are back within max(2 intervals, 10 s).
 */
import { bullRootOptions, pollSlotCount, QUEUES } from '@app/contracts';
import { createTestApi, startDedicatedRedis, TestApi, type DedicatedRedisServer } from '@app/testing';
import { Queue } from 'bullmq';
import { pollingEnv, sleep, waitFor } from './polling-helpers';

const PREFIX = 'hes-sched-restart';
const INTERVAL = 3000;

jest.setTimeout(120_000);

describe('schedules after a Redis restart that lost its data', () => {
  let redis: DedicatedRedisServer | undefined;
  let api: TestApi | undefined;
  let queue: Queue | undefined;

  beforeAll(async () => {
    redis = await startDedicatedRedis();
    api = await createTestApi(
      pollingEnv(PREFIX, {
        METER_POLLING_INTERVAL: String(INTERVAL),
        REDIS_URL: `${redis.url}/0`,
      }),
    );
    queue = new Queue(QUEUES.POLL, bullRootOptions(`${redis.url}/0`, PREFIX));
  });

  afterAll(async () => {
    await queue?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await redis?.close();
  });

  it('restores every scheduler within max(2 intervals, 10 s) of Redis coming back empty', async () => {
    const expected = pollSlotCount(INTERVAL) + 1;
    await waitFor('the initial schedules', async () => (await queue!.getJobSchedulersCount()) === expected);
    // Its data lost: nothing is dumped before the stop.
    await redis!.stop({ flush: true });
    await sleep(2000);
    await redis!.start();
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
