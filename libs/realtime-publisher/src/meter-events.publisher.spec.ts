import {
  MeterReadingUpdateEvent,
  MeterStatusChangeEvent,
  readRealtimeEnvelope,
  REALTIME_HEARTBEAT_ROOM,
  realtimeChannelKey,
  realtimeJsonParser,
  ROOMS,
  WS_EVENTS,
} from '@app/contracts';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { MeterEventsPublisher } from './meter-events.publisher';

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

describe('MeterEventsPublisher', () => {
  const publisherFor = (redisUrl: string) =>
    new MeterEventsPublisher(new ConfigService({ REDIS_URL: redisUrl, QUEUE_PREFIX: 'pub-spec' }));

  it('publishes one numbered message per event on the adapter channels (real Redis)', async () => {
    const redisUrl = process.env.REDIS_URL!;
    const key = realtimeChannelKey('pub-spec', redisUrl);
    const sub = new Redis(redisUrl);
    const received: [string, unknown[]][] = [];
    sub.on('pmessageBuffer', (_p: Buffer, channel: Buffer, msg: Buffer) => {
      received.push([channel.toString(), realtimeJsonParser.decode(msg) as unknown[]]);
    });
    await sub.psubscribe(`${key}#*`);
    const publisher = publisherFor(redisUrl);
    await publisher.onModuleInit();
    try {
      publisher.readingUpdated(reading, 'area-9');
      publisher.statusChanged(status, 'a-9');
      const deadline = Date.now() + 5000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

      expect(received).toEqual([
        [
          `${key}#/#${ROOMS.meter('m-1')}#`,
          [
            `${publisher.publisherId}:1`,
            { type: 2, data: [WS_EVENTS.READING_UPDATE, reading], nsp: '/' },
            { rooms: [ROOMS.meter('m-1')], except: [], flags: {} },
          ],
        ],
        [
          `${key}#/#`,
          [
            `${publisher.publisherId}:2`,
            { type: 2, data: [WS_EVENTS.STATUS_CHANGE, status], nsp: '/' },
            { rooms: [ROOMS.meter('m-1'), ROOMS.area('a-9'), ROOMS.fleet], except: [], flags: {} },
          ],
        ],
      ]);
      expect(publisher.stats()).toMatchObject({ published: 2, failed: 0, dropped: 0 });
    } finally {
      received.length = 0;
      await publisher.onApplicationShutdown();
      // the closing heartbeat carries the last number on the heartbeat room's channel
      const deadline = Date.now() + 2000;
      while (received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      sub.disconnect();
    }
    expect(received[0][0]).toBe(`${key}#/#${REALTIME_HEARTBEAT_ROOM}#`);
    expect(readRealtimeEnvelope(JSON.stringify(received[0][1]))).toEqual({
      publisherId: expect.any(String),
      seq: 2,
    });
  });

  it('never blocks or throws when Redis is unreachable: events are dropped and counted', async () => {
    const publisher = publisherFor('redis://127.0.0.1:1/0');
    const warn = jest.spyOn(publisher['logger'], 'warn').mockImplementation(() => undefined);
    await publisher.onModuleInit();
    try {
      // Counted as dropped right after the synchronous calls, none pending: nothing waits for Redis or
      // piles up in memory. (How long a call takes is a benchmark's business, not a test's.)
      for (let i = 0; i < 10_000; i++) publisher.readingUpdated(reading, 'a');
      publisher.statusChanged(status, 'a');
      expect(publisher.stats()).toMatchObject({ published: 0, dropped: 10_001, pending: 0 });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/live events lost/));
    } finally {
      await publisher.onApplicationShutdown();
    }
  }, 15_000);

  it('gives every instance its own publisher id, prefixed with the process kind', () => {
    const config = new ConfigService({ REDIS_URL: 'redis://127.0.0.1:1/0', QUEUE_PREFIX: 'pub-spec' });
    const api1 = new MeterEventsPublisher(config, 'a');
    const api2 = new MeterEventsPublisher(config, 'a');
    const worker = new MeterEventsPublisher(config);
    try {
      expect(api1.publisherId).toMatch(new RegExp(`^a${process.pid}-[0-9a-f]{8}$`));
      expect(worker.publisherId).toMatch(new RegExp(`^w${process.pid}-[0-9a-f]{8}$`));
      expect(api2.publisherId).not.toBe(api1.publisherId);
    } finally {
      for (const p of [api1, api2, worker]) p['redis'].disconnect();
    }
  });
});
