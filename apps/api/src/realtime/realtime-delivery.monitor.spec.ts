import type { MeterEventsPublisher } from '@app/realtime-publisher';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';

describe('RealtimeDeliveryMonitor', () => {
  const env = (publisherId: string, seq: number) => ({ publisherId, seq });

  it('takes the first event of a publisher as the baseline and delivers consecutive ones', () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.accept(env('p', 17))).toBe(true);
    expect(m.accept(env('p', 18))).toBe(true);
    expect(m.stats()).toMatchObject({ received: 2, accepted: 2, lost: 0, gaps: 0, publishers: 1 });
  });

  it('counts a jump in the sequence as lost events, per publisher, and still delivers', () => {
    const m = new RealtimeDeliveryMonitor();
    m.accept(env('p', 1));
    m.accept(env('q', 1));
    expect(m.accept(env('p', 5))).toBe(true);
    expect(m.accept(env('q', 2))).toBe(true);
    expect(m.stats()).toMatchObject({ lost: 3, gaps: 1 });
  });

  it('drops repeated and older events (a retried append)', () => {
    const m = new RealtimeDeliveryMonitor();
    m.accept(env('p', 1));
    m.accept(env('p', 2));
    expect(m.accept(env('p', 2))).toBe(false);
    expect(m.accept(env('p', 1))).toBe(false);
    expect(m.accept(env('p', 3))).toBe(true);
    expect(m.stats()).toMatchObject({ duplicates: 2, accepted: 3, lost: 0 });
  });

  it("delivers entries without our envelope (an adapter's own traffic) unchecked", () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.accept(null)).toBe(true);
    expect(m.stats()).toMatchObject({ received: 0, accepted: 0 });
  });

  it('shows how far this instance read the stream, and reports the reader going down once per interruption', () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.stats().streamOffset).toBeNull();
    m.read('1700000000000-3');
    m.readerUp();
    m.readerDown('closed');
    m.readerDown('closed');
    m.readerUp();
    expect(m.stats()).toMatchObject({
      streamOffset: '1700000000000-3',
      readerInterruptions: 1,
      readerConnected: true,
    });
  });

  it('counts recovered clients, the events handed to them and recoveries that may have missed some', () => {
    const m = new RealtimeDeliveryMonitor();
    m.recovered(12, false);
    m.recovered(0, true);
    expect(m.stats()).toMatchObject({ recoveredSessions: 2, recoveredEvents: 12, recoveryGaps: 1 });
  });

  it("tracks this instance's own publisher from 0: a loss of its first events counts, it is never forgotten", () => {
    const local = { publisherId: 'a1-local' } as MeterEventsPublisher;
    const m = new RealtimeDeliveryMonitor(local);
    expect(m.stats().publishers).toBe(1);
    (m as unknown as { forgetSilentPublishers(now: number): void }).forgetSilentPublishers(
      Date.now() + 3_600_000,
    );
    expect(m.stats().publishers).toBe(1);
    expect(m.accept(env('a1-local', 2))).toBe(true); // 1 never arrived
    expect(m.accept(env('w9', 7))).toBe(true); // any other publisher: baseline on first sight
    expect(m.stats()).toMatchObject({ lost: 1, gaps: 1, accepted: 2, publishers: 2 });
  });
});
