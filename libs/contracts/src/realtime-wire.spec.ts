/**
 * The live-event wire format against the real `@socket.io/redis-streams-adapter` (real Redis, real
 * Socket.IO server and client): what the adapter writes for a broadcast, the publishers write too, and what
 * they write, the adapter delivers. A change of the library's format fails here.
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import {
  compareStreamIds,
  decodeRealtimeEntry,
  encodeRealtimeEntry,
  readRealtimeBroadcast,
  readRealtimeEnvelope,
  RealtimeStreamEntry,
  realtimeEntryFields,
  realtimeEnvelopeUid,
  realtimeRedisNames,
} from './realtime-wire';

const payload = { meterId: 'm-1', readings: [{ obisCode: '1-0:1.8.0.255', value: 12.5 }], note: 'ü €' };

/** XRANGE result (ioredis) as field objects. */
function entries(raw: [string, string[]][]): { id: string; fields: RealtimeStreamEntry }[] {
  return raw.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return { id, fields: fields as unknown as RealtimeStreamEntry };
  });
}

describe('realtime wire format', () => {
  it('names the stream and session keys per deployment, and the channels per Redis database', () => {
    expect(realtimeRedisNames('hes', 'redis://127.0.0.1:6379/3')).toEqual({
      stream: 'hes:realtime:stream',
      channelPrefix: 'hes:realtime:db3',
      sessionKeyPrefix: 'hes:realtime:session:',
      watchedMeters: 'hes:realtime:watched-meters',
      watchedMetersChannel: 'hes:realtime:db3:watched-meters',
    });
    expect(realtimeRedisNames('hes', 'redis://127.0.0.1:6379').channelPrefix).toBe('hes:realtime:db0');
    expect(realtimeRedisNames('{hes}', 'rediss://u:p@host:6380/12')).toMatchObject({
      stream: '{hes}:realtime:stream',
      channelPrefix: '{hes}:realtime:db12',
    });
  });

  it('carries the publisher and its number in the uid; nothing from uids that are not ours', () => {
    expect(readRealtimeEnvelope(realtimeEnvelopeUid('w1-ab', 42))).toEqual({ publisherId: 'w1-ab', seq: 42 });
    for (const other of [
      'a1b2c3d4e5f6a7b8',
      'w:0',
      'w:-3',
      'w:01',
      'noseq',
      ':4',
      42,
      undefined,
      'x'.repeat(200) + ':1',
    ]) {
      expect(readRealtimeEnvelope(other)).toBeNull();
    }
  });

  it('refuses entries the adapter could not deliver', () => {
    const ok = encodeRealtimeEntry('p:1', 'e', {}, ['r']);
    expect(() => decodeRealtimeEntry(ok)).not.toThrow();
    for (const bad of [
      { ...ok, data: 'not json at all' },
      { ...ok, data: '{"packet":' },
      { ...ok, data: '{"packet":{"type":2},"opts":{}}' },
      { ...ok, type: 'x' },
      { nsp: '/', type: '3' },
    ]) {
      expect(() => decodeRealtimeEntry(bad)).toThrow();
    }
  });

  it('orders stream ids by time, then sequence', () => {
    const ids = ['1000-10', '999-1', '1000-2', '1000-0'];
    expect(ids.sort(compareStreamIds)).toEqual(['999-1', '1000-0', '1000-2', '1000-10']);
  });

  describe('against the real @socket.io/redis-streams-adapter', () => {
    const names = realtimeRedisNames(`wire-${randomBytes(3).toString('hex')}`, process.env.REDIS_URL!);
    let redis: Redis;
    let ioServer: Server;
    let port: number;

    beforeAll(async () => {
      redis = new Redis(process.env.REDIS_URL!);
      const http = createServer();
      ioServer = new Server(http, {
        connectionStateRecovery: { maxDisconnectionDuration: 10_000 },
        adapter: createAdapter(redis, {
          streamName: names.stream,
          channelPrefix: names.channelPrefix,
          sessionKeyPrefix: names.sessionKeyPrefix,
          onlyPlaintext: true,
          blockTimeInMs: 200,
        }),
      });
      ioServer.on('connection', (socket) => {
        void socket.join(['meter-1', 'meters']);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      port = (http.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await ioServer.close();
      await redis.del(names.stream);
      redis.disconnect();
    });

    it('writes a broadcast exactly as the adapter does', async () => {
      const before = await redis.xrevrange(names.stream, '+', '-', 'COUNT', 1);
      ioServer.to(['meter-1', 'area-2', 'meters']).emit('meter-status-change', payload);
      await new Promise((r) => setTimeout(r, 100));
      const written = entries(await redis.xrange(names.stream, before[0]?.[0] ?? '-', '+')).filter(
        (e) => e.id !== before[0]?.[0],
      );
      expect(written).toHaveLength(1);
      const adapterEntry = written[0].fields;
      const ours = encodeRealtimeEntry(adapterEntry.uid, 'meter-status-change', payload, [
        'meter-1',
        'area-2',
        'meters',
      ]);
      expect(ours).toEqual(adapterEntry);
      expect(readRealtimeBroadcast(adapterEntry)).toEqual({
        uid: adapterEntry.uid,
        event: 'meter-status-change',
        payload,
        rooms: ['meter-1', 'area-2', 'meters'],
      });
    });

    it('delivers what a publisher appends once to a socket in several of its rooms, with the entry id as offset', async () => {
      const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('connect', resolve);
          client.once('connect_error', reject);
        });
        await new Promise((r) => setTimeout(r, 300)); // the reader's XREAD is waiting
        const received: unknown[][] = [];
        client.on('meter-status-change', (...args: unknown[]) => received.push(args));
        const id = await redis.xadd(
          names.stream,
          '*',
          ...realtimeEntryFields(
            encodeRealtimeEntry(realtimeEnvelopeUid('w1-test', 1), 'meter-status-change', payload, [
              'meter-1',
              'meters',
            ]),
          ),
        );
        const deadline = Date.now() + 5000;
        while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        // the entry id comes last: the offset the client resumes from after a disconnection
        expect(received).toEqual([[payload, id]]);
      } finally {
        client.close();
      }
    });
  });
});
