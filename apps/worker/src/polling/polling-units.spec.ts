import { ConcurrencyLimiter } from './concurrency-limiter';
import { ExchangeSlots } from './exchange-slots';
import { expiredPartitions, partitionDay, partitionName, utcDayStart } from './partition-maintenance.service';
import { isStale, pollWorkerConcurrency } from './poll-queue.worker';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConcurrencyLimiter', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let running = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const release = await limiter.acquire();
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        running--;
        release();
        return i;
      }),
    );
    expect(peak).toBe(3);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.inFlight).toBe(0);
  });

  it('gives a place back once, however often its release is called', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = await limiter.acquire();
    release();
    release();
    expect(limiter.inFlight).toBe(0);
    const again = await limiter.acquire();
    expect(limiter.inFlight).toBe(1);
    again();
  });

  it('holders beyond a narrowed limit keep their place and are not replaced until under it', async () => {
    const limiter = new ConcurrencyLimiter(4);
    const held = await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    limiter.narrowTo(1);
    let served = false;
    void limiter.acquire().then(() => (served = true));
    held[0]();
    held[1]();
    await tick(1);
    expect({ inFlight: limiter.inFlight, served }).toEqual({ inFlight: 1, served: false });
    held[2]();
    await tick(1);
    expect({ inFlight: limiter.inFlight, served }).toEqual({ inFlight: 1, served: true });
  });
});

describe('ExchangeSlots', () => {
  const never = () => new Promise<never>(() => undefined);

  it("while an operator's command runs, scheduled exchanges get a quarter of the slots, then all again", async () => {
    const slots = new ExchangeSlots(8, 0);
    const finish: Array<() => void> = [];
    const started: number[] = [];
    const exchange = (i: number) => () =>
      new Promise<void>((resolve) => {
        started.push(i);
        finish.push(resolve);
      });
    const operatorDone = slots.operatorFirst();
    const runs = Array.from({ length: 12 }, (_, i) => slots.run(exchange(i)));
    await tick(5);
    expect(slots.active).toBe(2);
    // A second command narrows nothing further; the slots stay narrow until the last one ends.
    const secondDone = slots.operatorFirst();
    operatorDone();
    operatorDone();
    finish.shift()!();
    await tick(5);
    expect(slots.active).toBe(2);
    secondDone();
    await tick(5);
    expect(slots.active).toBe(8);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    while (finish.length) {
      finish.shift()!();
      await tick(1);
    }
    await Promise.all(runs);
    expect(slots.active).toBe(0);
  });

  it('frees the slot when the exchange throws', async () => {
    const slots = new ExchangeSlots(1, 0);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('a silent meter hands its slot back, so answering meters are not held behind it', async () => {
    const slots = new ExchangeSlots(1, 10, 50);
    let silentDone = false;
    const silent = slots.run(() => tick(400).then(() => (silentDone = true)));
    await tick(100);
    expect(slots.silentReads).toBe(1);
    await expect(slots.run(() => Promise.resolve('answered'))).resolves.toBe('answered');
    expect(silentDone).toBe(false);
    await silent;
    expect({ active: slots.active, silent: slots.silentReads }).toEqual({ active: 0, silent: 0 });
  });

  it('keeps the slot once the silent reads are at their bound', async () => {
    const slots = new ExchangeSlots(2, 1, 20);
    void slots.run(never);
    void slots.run(never);
    await tick(60);
    // One went silent and freed its slot; the other found the silent reads full and kept its own.
    expect({ active: slots.active, silent: slots.silentReads }).toEqual({ active: 1, silent: 1 });
    void slots.run(never);
    await tick(60);
    expect({ active: slots.active, silent: slots.silentReads }).toEqual({ active: 2, silent: 1 });
    let fourth = false;
    void slots.run(() => Promise.resolve((fourth = true)));
    await tick(10);
    expect(fourth).toBe(false);
  });
});

describe('partition naming and retention', () => {
  const now = Date.UTC(2026, 10, 27, 15, 30);

  it('names daily UTC partitions and reads them back', () => {
    expect(partitionName(utcDayStart(now))).toBe('meter_reads_p20261127');
    expect(partitionDay('meter_reads_p20261127')).toBe(Date.UTC(2026, 10, 27));
    expect(partitionDay('meter_reads_default')).toBeNull();
  });

  it('drops only partitions entirely older than the retention window', () => {
    const names = [
      'meter_reads_p20261025',
      'meter_reads_p20261026',
      'meter_reads_p20261027',
      'meter_reads_default',
    ];
    // 30 days before 2026-11-27 is 2026-10-28: days ending on or before it are expired.
    expect(expiredPartitions(names, now, 30)).toEqual([
      'meter_reads_p20261025',
      'meter_reads_p20261026',
      'meter_reads_p20261027',
    ]);
    expect(expiredPartitions(names, now, 31)).toEqual(['meter_reads_p20261025', 'meter_reads_p20261026']);
  });
});

describe('poll job rules', () => {
  it('drops a job that starts more than half an interval late, a resumed batch only after nine tenths', () => {
    expect(isStale(10_000, 2000, 10_999)).toBe(false);
    expect(isStale(10_000, 2000, 11_001)).toBe(true);
    expect(isStale(10_000, 2000, 11_799, true)).toBe(false);
    expect(isStale(10_000, 2000, 11_801, true)).toBe(true);
  });

  it('runs enough batches to keep the read cap busy, within bounds', () => {
    expect(pollWorkerConcurrency(200 + 10_000)).toBe(204);
    expect(pollWorkerConcurrency(1)).toBe(4);
    expect(pollWorkerConcurrency(100_000)).toBe(500);
  });
});
