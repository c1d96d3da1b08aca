import type { MeterEventsPublisher } from '@app/realtime-publisher';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';

describe('RealtimeDeliveryMonitor', () => {
  const env = (publisherId: string, seq: number) => ({ publisherId, seq });

  it('takes the first message of a publisher as the baseline and delivers consecutive ones', () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.accept(env('p', 17), false)).toBe(true);
    expect(m.accept(env('p', 18), false)).toBe(true);
    expect(m.stats()).toMatchObject({ received: 2, accepted: 2, lost: 0, gaps: 0, publishers: 1 });
  });

  it('counts a jump in the sequence as lost messages, per publisher, and still delivers', () => {
    const m = new RealtimeDeliveryMonitor();
    m.accept(env('p', 1), false);
    m.accept(env('q', 1), false);
    expect(m.accept(env('p', 5), false)).toBe(true);
    expect(m.accept(env('q', 2), false)).toBe(true);
    expect(m.stats()).toMatchObject({ lost: 3, gaps: 1 });
  });

  it('drops repeated and older messages', () => {
    const m = new RealtimeDeliveryMonitor();
    m.accept(env('p', 1), false);
    m.accept(env('p', 2), false);
    expect(m.accept(env('p', 2), false)).toBe(false);
    expect(m.accept(env('p', 1), false)).toBe(false);
    expect(m.accept(env('p', 3), false)).toBe(true);
    expect(m.stats()).toMatchObject({ duplicates: 2, accepted: 3, lost: 0 });
  });

  it('never delivers heartbeats; one ahead of the last message reveals a lost tail', () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.accept(env('p', 4), true)).toBe(false); // baseline from a heartbeat
    expect(m.accept(env('p', 5), false)).toBe(true);
    expect(m.accept(env('p', 5), true)).toBe(false); // nothing missing
    expect(m.stats().lost).toBe(0);
    expect(m.accept(env('p', 8), true)).toBe(false); // 6, 7, 8 never arrived
    expect(m.accept(env('p', 9), false)).toBe(true);
    expect(m.stats()).toMatchObject({ lost: 3, gaps: 1, heartbeats: 3, accepted: 2 });
  });

  it("delivers messages without our envelope (the adapter's own traffic) unchecked", () => {
    const m = new RealtimeDeliveryMonitor();
    expect(m.accept(null, false)).toBe(true);
    expect(m.stats()).toMatchObject({ received: 0, accepted: 0 });
  });

  it('reports the subscriber connection going down once per interruption', () => {
    const m = new RealtimeDeliveryMonitor();
    m.subscriberUp();
    m.subscriberDown('closed');
    m.subscriberDown('closed');
    m.subscriberUp();
    expect(m.stats()).toMatchObject({ subscriberInterruptions: 1, subscriberConnected: true });
  });

  it("tracks this instance's own publisher from 0: a loss of its first messages counts, it is never forgotten", () => {
    const local = { publisherId: 'a1-local' } as MeterEventsPublisher;
    const m = new RealtimeDeliveryMonitor(local);
    expect(m.stats().publishers).toBe(1);
    (m as unknown as { forgetSilentPublishers(now: number): void }).forgetSilentPublishers(
      Date.now() + 3_600_000,
    );
    expect(m.stats().publishers).toBe(1);
    expect(m.accept(env('a1-local', 2), false)).toBe(true); // 1 never arrived
    expect(m.accept(env('a1-local', 2), true)).toBe(false);
    expect(m.accept(env('w9', 7), false)).toBe(true); // any other publisher: baseline on first sight
    expect(m.stats()).toMatchObject({ lost: 1, gaps: 1, accepted: 2, publishers: 2 });
  });
});
