/**
 * The api's side of live events when Redis goes away (a dedicated redis-server this suite stops and starts
 * empty, as after a restart without persistence): a real Socket.IO server with the adapter as the api
 * installs it, a real client, a real publisher. Nothing throws out of the adapter (no unhandled
 * rejection, which would end the process), and delivery carries on by itself once Redis is back.
 */
import { CommonEnv } from '@app/config';
import { MeterReadingUpdateEvent, realtimeRedisNames, ROOMS, WS_EVENTS } from '@app/contracts';
import { MeterEventsPublisher, WatchedMeterRegistry } from '@app/realtime-publisher';
import Redis from 'ioredis';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { dedicatedRedis, sleep } from '../../../../test/realtime-helpers';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';
import { RealtimeRecovery } from './realtime-recovery';
import { RealtimeSessions } from './realtime-sessions';
import { createRealtimeStreamsAdapter } from './realtime-streams.adapter';

const reading = (n: number): MeterReadingUpdateEvent => ({
  meterId: 'm-1',
  meterNumber: 'MTR-1',
  readingType: 'scheduled',
  communicationStatus: 'success',
  readings: [],
  responseTime: n,
  timestamp: new Date().toISOString(),
});

describe('live events through the streams adapter while Redis goes away', () => {
  it('keeps the server up and delivers what is published during and after the outage, in order', async () => {
    const redisServer = await dedicatedRedis();
    const names = realtimeRedisNames('outage', redisServer.url);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
    const monitor = new RealtimeDeliveryMonitor();
    const sessionsNotSaved: Error[] = [];
    const http = createServer();
    const server = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } });
    server.adapter(
      createRealtimeStreamsAdapter(redis, {
        names,
        maxLen: 10_000,
        monitor,
        recovery: new RealtimeRecovery(),
        sessions: new RealtimeSessions(redis, names, 60_000),
        watched: new WatchedMeterRegistry(redis, names, 60_000),
        onSessionNotSaved: (err) => sessionsNotSaved.push(err),
        onWatchNotSaved: () => undefined,
      }) as unknown as Parameters<Server['adapter']>[0],
    );
    server.on('connection', (socket) => void socket.join(ROOMS.meter('m-1')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const env = Object.assign(new CommonEnv(), { REDIS_URL: redisServer.url, QUEUE_PREFIX: 'outage' });
    const publisher = new MeterEventsPublisher(env);
    const clients: Socket[] = [];
    try {
      await publisher.onModuleInit();
      const open = async () => {
        const client = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          client.once('connect', resolve);
          client.once('connect_error', reject);
        });
        return client;
      };
      const watcher = await open();
      const leaving = await open();
      const received: number[] = [];
      watcher.on(WS_EVENTS.READING_UPDATE, (e: MeterReadingUpdateEvent) => received.push(e.responseTime));
      const until = async (n: number) => {
        const deadline = Date.now() + 15_000;
        while (received.length < n && Date.now() < deadline) await sleep(50);
      };
      await sleep(300); // the reader's first XREAD
      publisher.readingUpdated(reading(1), 'a');
      await until(1);
      expect(received).toEqual([1]);

      await redisServer.stop();
      for (let n = 2; n <= 5; n++) publisher.readingUpdated(reading(n), 'a');
      // a client that drops meanwhile: its session cannot be stored
      leaving.io.engine.close();
      await sleep(2000);
      await redisServer.start();
      await until(5);
      publisher.readingUpdated(reading(6), 'a');
      await until(6);

      expect(received).toEqual([1, 2, 3, 4, 5, 6]);
      expect(sessionsNotSaved.length).toBe(1);
      expect(monitor.stats()).toMatchObject({ lost: 0, duplicates: 0, malformed: 0 });
      expect(publisher.stats()).toMatchObject({ dropped: 0, pending: 0 });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      for (const c of clients) c.close();
      await publisher.onApplicationShutdown();
      await server.close();
      redis.disconnect();
      await redisServer.stop();
    }
  }, 60_000);
});
