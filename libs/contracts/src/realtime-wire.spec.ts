import {
  encodeRealtimeBroadcast,
  encodeRealtimeHeartbeat,
  readRealtimeEnvelope,
  REALTIME_HEARTBEAT_ROOM,
  realtimeBroadcastChannel,
  realtimeChannelKey,
  realtimeEnvelopeUid,
  realtimeJsonParser,
} from './realtime-wire';

describe('realtime wire format', () => {
  it('names the Redis database in the channel key (pub/sub is not per database)', () => {
    expect(realtimeChannelKey('hes', 'redis://127.0.0.1:6379/3')).toBe('hes:realtime:db3');
    expect(realtimeChannelKey('hes', 'redis://127.0.0.1:6379')).toBe('hes:realtime:db0');
    expect(realtimeChannelKey('{hes}', 'rediss://u:p@host:6380/12')).toBe('{hes}:realtime:db12');
  });

  it("uses the Socket.IO Redis adapter's channels: one room gets its own, several share the namespace's", () => {
    expect(realtimeBroadcastChannel('k', ['meter-1'])).toBe('k#/#meter-1#');
    expect(realtimeBroadcastChannel('k', ['meter-1', 'area-2', 'meters'])).toBe('k#/#');
  });

  it("encodes the adapter's [uid, packet, opts] message, with the envelope in the uid", () => {
    const msg = encodeRealtimeBroadcast(realtimeEnvelopeUid('w1-ab', 42), 'meter-reading-update', { a: 1 }, [
      'meter-1',
      'meters',
    ]);
    expect(realtimeJsonParser.decode(Buffer.from(msg))).toEqual([
      'w1-ab:42',
      { type: 2, data: ['meter-reading-update', { a: 1 }], nsp: '/' },
      { rooms: ['meter-1', 'meters'], except: [], flags: {} },
    ]);
    expect(readRealtimeEnvelope(Buffer.from(msg))).toEqual({ publisherId: 'w1-ab', seq: 42 });
    expect(readRealtimeEnvelope(msg)).toEqual({ publisherId: 'w1-ab', seq: 42 });
  });

  it('reads heartbeats, and nothing from messages that are not ours', () => {
    const hb = encodeRealtimeHeartbeat('w2:7');
    expect(readRealtimeEnvelope(Buffer.from(hb))).toEqual({ publisherId: 'w2', seq: 7 });
    expect(JSON.parse(hb)[2].rooms).toEqual([REALTIME_HEARTBEAT_ROOM]);
    for (const other of [
      '["abcdef",{"type":2}]',
      '{"x":1}',
      'x',
      '',
      '["w:0",1]',
      '["w:-3",1]',
      '["noseq",1]',
    ]) {
      expect(readRealtimeEnvelope(Buffer.from(other))).toBeNull();
    }
    expect(readRealtimeEnvelope(Buffer.from([0x93, 0xa7, 0x65]))).toBeNull(); // msgpack (stock emitter)
  });
});
