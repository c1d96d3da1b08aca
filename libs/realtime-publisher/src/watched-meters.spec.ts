import { CommonEnv } from '@app/config';
import { realtimeRedisNames } from '@app/contracts';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { WatchedMeterRegistry, WatchedMeters, watchedMeterIds } from './watched-meters';

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

describe('watched meters (real Redis): the api marks, the workers know', () => {
  const prefix = `watched-${randomBytes(3).toString('hex')}`;
  const names = realtimeRedisNames(prefix, process.env.REDIS_URL!);
  const env = Object.assign(new CommonEnv(), { REDIS_URL: process.env.REDIS_URL!, QUEUE_PREFIX: prefix });
  let redis: Redis;
  let registry: WatchedMeterRegistry;
  let view: WatchedMeters;

  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL!);
    registry = new WatchedMeterRegistry(redis, names, 60_000);
    view = new WatchedMeters(env);
    // Not read yet: every meter counts as watched (nothing anyone waits for is held back).
    expect(view.isWatched('m-any')).toBe(true);
    view.onModuleInit();
    // Its first read of the registry (connecting included; slow when the machine is busy with other suites).
    await until(() => !view.isWatched('m-any'), 15_000);
    expect(view.isWatched('m-any')).toBe(false);
  });

  afterAll(async () => {
    await view.onApplicationShutdown();
    await redis.del(names.watchedMeters);
    redis.disconnect();
  });

  it('takes the meter ids of meter rooms only', () => {
    expect(watchedMeterIds(['meter-a', 'meters', 'area-b', 'sock1', 'meter-c'])).toEqual(['a', 'c']);
  });

  it('a join is known to the worker within milliseconds, without waiting for its next read of the registry', async () => {
    expect(view.isWatched('m-a')).toBe(false);
    const joinedAt = Date.now();
    await registry.watch(['m-a', 'm-b']);
    await until(() => view.isWatched('m-b'), 1000);
    expect([view.isWatched('m-a'), view.isWatched('m-b'), view.isWatched('m-c')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(Date.now() - joinedAt).toBeLessThan(500);
    // marked for the recovery window and more: a client that reconnects in time finds its events kept
    const score = Number(await redis.zscore(names.watchedMeters, 'm-a'));
    expect(score - joinedAt).toBeGreaterThanOrEqual(60_000);
  });

  it('renewals are read with the registry; marks that ran out stop counting and are removed', async () => {
    await registry.renew(['m-renewed']);
    await redis.zadd(names.watchedMeters, Date.now() - 1, 'm-gone');
    await view.refresh();
    expect(view.isWatched('m-renewed')).toBe(true);
    expect(view.isWatched('m-gone')).toBe(false);
    await registry.renew([]);
    expect(await redis.zscore(names.watchedMeters, 'm-gone')).toBeNull();
    expect(await redis.zscore(names.watchedMeters, 'm-renewed')).not.toBeNull();
  });

  it('a renewal never shortens a longer mark', async () => {
    const long = Date.now() + 10 * 60_000;
    await redis.zadd(names.watchedMeters, long, 'm-long');
    await registry.renew(['m-long']);
    expect(Number(await redis.zscore(names.watchedMeters, 'm-long'))).toBe(long);
  });
});
