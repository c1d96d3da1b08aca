import { RealtimeRecovery, RestoredSession } from './realtime-recovery';

/** Packet data as the adapter delivers it: `[event, payload, offset]`. */
const packet = (n: number, offset = `1000-${n}`) => ['meter-reading-update', { n }, offset];
const session = (missed: unknown[][], rooms = ['sid-1', 'meter-a']): RestoredSession => ({
  sid: 'sid-1',
  rooms,
  missedPackets: missed,
});
const numbers = (packets: unknown[][] | undefined) => packets?.map((p) => (p[1] as { n: number }).n);

describe('RealtimeRecovery (hand-over of missed events to a recovered socket)', () => {
  it('holds the missed events until the socket is connected, then hands them over once', () => {
    const r = new RealtimeRecovery(10);
    for (let n = 1; n <= 3; n++) r.read(`1000-${n}`);
    const s = session([packet(2), packet(3)]);
    r.hold(s, '1000-1');
    expect(s.missedPackets).toEqual([]); // Socket.IO sends nothing before the handshake check
    expect(numbers(r.handOver('sid-1')?.packets)).toEqual([2, 3]);
    expect(r.handOver('sid-1')).toBeNull();
    expect(r.handOver('never-restored')).toBeNull();
  });

  it('adds what this instance delivered between the restore and the connection, for the socket rooms only', () => {
    const r = new RealtimeRecovery(10);
    r.read('1000-2');
    r.hold(session([packet(2)]), '1000-1');
    // read and delivered live while the handshake check ran
    r.read('1000-3');
    r.delivered('1000-3', packet(3), ['meter-a'], []);
    r.read('1000-4');
    r.delivered('1000-4', packet(4), ['meter-b'], []);
    r.read('1000-5');
    r.delivered('1000-5', packet(5), ['meter-b', 'meter-a', 'meters'], []);
    r.read('1000-6');
    r.delivered('1000-6', packet(6), ['meter-a'], ['sid-1']);
    expect(r.handOver('sid-1')).toEqual({ packets: [packet(2), packet(3), packet(5)], gap: false });
  });

  it('leaves to live delivery what the restore read ahead of this instance, so nothing comes twice', () => {
    const r = new RealtimeRecovery(10);
    r.read('1000-2');
    r.hold(session([packet(2), packet(3), packet(4)]), '1000-1');
    r.read('1000-3');
    r.delivered('1000-3', packet(3), ['meter-a'], []);
    // 4 is in the stream but not yet read here: it reaches the socket live, in order, after 2 and 3
    expect(numbers(r.handOver('sid-1')?.packets)).toEqual([2, 3]);
  });

  it('skips a duplicate entry (a retried append) that live delivery skipped', () => {
    const r = new RealtimeRecovery(10);
    r.read('1000-3');
    r.duplicate('1000-3');
    r.hold(session([packet(2), packet(2, '1000-3')]), '1000-1');
    expect(numbers(r.handOver('sid-1')?.packets)).toEqual([2]);
  });

  it('says when the hand-over buffer no longer reaches back to the restore', () => {
    const r = new RealtimeRecovery(2);
    r.read('1000-1');
    r.hold(session([]), '1000-1');
    for (let n = 2; n <= 4; n++) {
      r.read(`1000-${n}`);
      r.delivered(`1000-${n}`, packet(n), ['meter-a'], []);
    }
    expect(r.handOver('sid-1')).toEqual({ packets: [packet(3), packet(4)], gap: true });
  });

  it('compares offsets as numbers, not text', () => {
    const r = new RealtimeRecovery(10);
    r.read('999-10');
    r.hold(session([packet(1, '999-9'), packet(2, '999-10')]), '999-8');
    r.read('1000-0');
    r.delivered('1000-0', packet(3, '1000-0'), ['meter-a'], []);
    expect(numbers(r.handOver('sid-1')?.packets)).toEqual([1, 2, 3]);
  });
});
