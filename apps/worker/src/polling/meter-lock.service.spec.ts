import { WorkerEnv } from '@app/config';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { MeterBusyError, MeterLockService } from './meter-lock.service';

/** POLL_JOB_LOCK_MS: the meter locks' TTL too, refreshed every third of it. */
const TTL_MS = 1500;

/** Against the test run's real Redis. */
describe('MeterLockService (real Redis)', () => {
  let redis: Redis;
  let locks: MeterLockService;
  const env = Object.assign(new WorkerEnv(), {
    QUEUE_PREFIX: `hes-lock-${process.pid}`,
    POLL_JOB_LOCK_MS: TTL_MS,
  });

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
    locks = new MeterLockService(redis, env);
  });
  afterAll(() => redis.quit());

  it('keeps a meter locked for as long as its holder works, past the lock TTL', async () => {
    const meterId = randomUUID();
    const held = await locks.tryAcquire(meterId);
    expect(held).not.toBeNull();
    await new Promise((r) => setTimeout(r, 3 * TTL_MS));
    expect(await locks.tryAcquire(meterId)).toBeNull();
    await held!.release();
    const again = await locks.tryAcquire(meterId);
    expect(again).not.toBeNull();
    await again!.release();
  });

  it('releases the lock when the work throws, and a waiting command gets it', async () => {
    const meterId = randomUUID();
    await expect(
      locks.withMeterLock(meterId, () => Promise.reject(new Error('meter exploded'))),
    ).rejects.toThrow('meter exploded');
    const held = await locks.tryAcquire(meterId);
    setTimeout(() => void held!.release(), 200);
    await expect(locks.withMeterLock(meterId, () => Promise.resolve('read'), { waitMs: 2000 })).resolves.toBe(
      'read',
    );
  });

  it('answers busy when the meter stays locked for the whole wait', async () => {
    const meterId = randomUUID();
    const held = await locks.tryAcquire(meterId);
    await expect(
      locks.withMeterLock(meterId, () => Promise.resolve(1), { waitMs: 100 }),
    ).rejects.toBeInstanceOf(MeterBusyError);
    await held!.release();
  });

  it('survives Redis going away while a lock is held: the loss is logged, the process does not crash', async () => {
    const lonely = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    lonely.on('error', () => undefined);
    await new Promise((resolve) => lonely.once('ready', resolve));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const service = new MeterLockService(lonely, env);
      const held = await service.tryAcquire(randomUUID());
      lonely.disconnect();
      // The holder's next refresh of its lock now fails.
      await new Promise((r) => setTimeout(r, TTL_MS));
      await held!.release();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
