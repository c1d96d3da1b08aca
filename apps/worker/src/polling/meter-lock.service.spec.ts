import { CommonEnv } from '@app/config';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import {
  METER_LOCK_REFRESH_MS,
  METER_LOCK_TTL_MS,
  MeterBusyError,
  MeterLockService,
} from './meter-lock.service';

/** Against the test run's real Redis. */
describe('MeterLockService (real Redis)', () => {
  let redis: Redis;
  let locks: MeterLockService;
  const env = Object.assign(new CommonEnv(), { QUEUE_PREFIX: `hes-lock-${process.pid}` });

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
    locks = new MeterLockService(redis, env);
  });
  afterAll(() => redis.quit());

  it('keeps a meter locked for as long as its holder works, past the lock TTL', async () => {
    const meterId = randomUUID();
    const held = await locks.tryAcquire(meterId);
    expect(held).not.toBeNull();
    await new Promise((r) => setTimeout(r, METER_LOCK_TTL_MS + 1000));
    expect(await locks.tryAcquire(meterId)).toBeNull();
    await held!.release();
    const again = await locks.tryAcquire(meterId);
    expect(again).not.toBeNull();
    await again!.release();
  }, 25_000);

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
      await new Promise((r) => setTimeout(r, METER_LOCK_REFRESH_MS + 1000));
      await held!.release();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 15_000);
});
