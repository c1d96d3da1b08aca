import { CommonEnv } from '@app/config';
import {
  MeterReadingUpdateEvent,
  MeterStatusChangeEvent,
  readRealtimeBroadcast,
  RealtimeStreamEntry,
  realtimeRedisNames,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import Redis from 'ioredis';
import { dedicatedRedis } from '../../../test/realtime-helpers';
import { MAX_BUFFERED_EVENTS, MeterEventsPublisher } from './meter-events.publisher';

const reading: MeterReadingUpdateEvent = {
  meterId: 'm-1',
  meterNumber: 'MTR-1',
  readingType: 'scheduled',
  communicationStatus: 'success',
  readings: [],
  responseTime: 12,
  timestamp: '2025-01-01T00:00:00.000Z',
};
const status: MeterStatusChangeEvent = {
  meterId: 'm-1',
  meterNumber: 'MTR-1',
  status: 'offline',
  previousStatus: 'online',
  reason: 'connection refused',
  lastSeen: null,
  timestamp: '2025-01-01T00:00:01.000Z',
};

function envFor(redisUrl: string, queuePrefix: string, maxLen = 250_000): CommonEnv {
  return Object.assign(new CommonEnv(), {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix,
    REALTIME_STREAM_MAX_LEN: maxLen,
  });
}

async function streamEntries(redis: Redis, stream: string): Promise<RealtimeStreamEntry[]> {
  return (await redis.xrange(stream, '-', '+')).map(([, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return fields as unknown as RealtimeStreamEntry;
  });
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MeterEventsPublisher', () => {
  it('appends one numbered entry per event to the stream, in order (real Redis)', async () => {
    const redisUrl = process.env.REDIS_URL!;
    const prefix = `pub-spec-${Date.now()}`;
    const { stream } = realtimeRedisNames(prefix, redisUrl);
    const redis = new Redis(redisUrl);
    const publisher = new MeterEventsPublisher(envFor(redisUrl, prefix));
    await publisher.onModuleInit();
    try {
      publisher.readingUpdated(reading, 'area-9');
      publisher.statusChanged(status, 'a-9');
      await until(() => publisher.stats().published === 2);

      expect((await streamEntries(redis, stream)).map(readRealtimeBroadcast)).toEqual([
        {
          uid: `${publisher.publisherId}:1`,
          event: WS_EVENTS.READING_UPDATE,
          payload: reading,
          rooms: [ROOMS.meter('m-1')],
        },
        {
          uid: `${publisher.publisherId}:2`,
          event: WS_EVENTS.STATUS_CHANGE,
          payload: status,
          rooms: [ROOMS.meter('m-1'), ROOMS.area('a-9'), ROOMS.fleet],
        },
      ]);
      expect(publisher.stats()).toMatchObject({ published: 2, dropped: 0, pending: 0 });
    } finally {
      await publisher.onApplicationShutdown();
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it('bounds the stream to about REALTIME_STREAM_MAX_LEN entries', async () => {
    const redisUrl = process.env.REDIS_URL!;
    const prefix = `pub-spec-len-${Date.now()}`;
    const { stream } = realtimeRedisNames(prefix, redisUrl);
    const redis = new Redis(redisUrl);
    const publisher = new MeterEventsPublisher(envFor(redisUrl, prefix, 1000));
    await publisher.onModuleInit();
    try {
      for (let i = 0; i < 5000; i++) publisher.readingUpdated(reading, 'a');
      await until(() => publisher.stats().published === 5000, 15_000);
      const length = await redis.xlen(stream);
      // "~" trims whole nodes (100 entries by default): at least the bound, never much more
      expect(length).toBeGreaterThanOrEqual(1000);
      expect(length).toBeLessThan(1200);
    } finally {
      await publisher.onApplicationShutdown();
      await redis.del(stream);
      redis.disconnect();
    }
  }, 20_000);

  it('never blocks or throws when Redis is unreachable: keeps a bounded buffer, drops and counts the rest', async () => {
    const publisher = new MeterEventsPublisher(envFor('redis://127.0.0.1:1/0', 'pub-spec'));
    const warn = jest.spyOn(publisher['logger'], 'warn').mockImplementation(() => undefined);
    await publisher.onModuleInit();
    try {
      for (let i = 0; i < MAX_BUFFERED_EVENTS + 10; i++) publisher.readingUpdated(reading, 'a');
      publisher.statusChanged(status, 'a');
      expect(publisher.stats()).toMatchObject({ published: 0, pending: MAX_BUFFERED_EVENTS, dropped: 11 });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/live events lost/));
    } finally {
      await publisher.onApplicationShutdown();
    }
    // what was still buffered at shutdown is counted as lost too
    expect(publisher.stats()).toMatchObject({ pending: 0, dropped: MAX_BUFFERED_EVENTS + 11 });
  }, 15_000);

  it('keeps events while Redis is away and appends them, in order, once it is back', async () => {
    // A dedicated Redis server this test can stop (never the shared one).
    const server = await dedicatedRedis();
    const prefix = 'pub-spec-outage';
    const { stream } = realtimeRedisNames(prefix, server.url);
    const publisher = new MeterEventsPublisher(envFor(server.url, prefix));
    jest.spyOn(publisher['logger'], 'warn').mockImplementation(() => undefined);
    await publisher.onModuleInit();
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    try {
      publisher.readingUpdated({ ...reading, responseTime: 1 }, 'a');
      await until(() => publisher.stats().published === 1);
      await server.stop();
      for (let n = 2; n <= 50; n++) publisher.readingUpdated({ ...reading, responseTime: n }, 'a');
      expect(publisher.stats()).toMatchObject({ pending: 49, dropped: 0 });
      await server.start();
      await until(() => publisher.stats().published === 50, 15_000);
      const times = (await streamEntries(redis, stream)).map(
        (e) => (readRealtimeBroadcast(e)!.payload as MeterReadingUpdateEvent).responseTime,
      );
      // the server came back empty (no persistence): the first event went with it, the rest are all there
      expect(times).toEqual(Array.from({ length: 49 }, (_, i) => i + 2));
      expect(publisher.stats()).toMatchObject({ dropped: 0, pending: 0 });
    } finally {
      redis.disconnect();
      await publisher.onApplicationShutdown();
      await server.stop();
    }
  }, 30_000);

  it('gives every instance its own publisher id, prefixed with the process kind', () => {
    const env = envFor('redis://127.0.0.1:1/0', 'pub-spec');
    const api1 = new MeterEventsPublisher(env, 'a');
    const api2 = new MeterEventsPublisher(env, 'a');
    const worker = new MeterEventsPublisher(env);
    try {
      expect(api1.publisherId).toMatch(new RegExp(`^a${process.pid}-[0-9a-f]{8}$`));
      expect(worker.publisherId).toMatch(new RegExp(`^w${process.pid}-[0-9a-f]{8}$`));
      expect(api2.publisherId).not.toBe(api1.publisherId);
    } finally {
      for (const p of [api1, api2, worker]) p['redis'].disconnect();
    }
  });
});
