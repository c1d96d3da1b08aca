import {
  batchJobId,
  chunk,
  histogramPercentile,
  intervalIndex,
  MAX_POLL_SLOTS,
  offlineBackoffMs,
  POLL_BUCKETS,
  pollSlotCount,
  responseTimeBucket,
  responseTimeBucketUpperMs,
  slotBucketRange,
  slotOffsetMs,
  tickTimeFromJobId,
} from './polling';

describe('poll slots', () => {
  it('uses one slot per second of the interval, at least one, at most MAX_POLL_SLOTS', () => {
    expect(pollSlotCount(1000)).toBe(1);
    expect(pollSlotCount(2500)).toBe(2);
    expect(pollSlotCount(60000)).toBe(60);
    expect(pollSlotCount(90000)).toBe(90);
    expect(pollSlotCount(3_600_000)).toBe(MAX_POLL_SLOTS);
  });

  it.each([1000, 2000, 2500, 60000, 90000, 3_600_000])(
    'spreads slot offsets inside a %i ms interval, strictly increasing and never 0',
    (intervalMs) => {
      const n = pollSlotCount(intervalMs);
      const offsets = Array.from({ length: n }, (_, s) => slotOffsetMs(s, n, intervalMs));
      expect(offsets[0]).toBeGreaterThan(0);
      expect(offsets[n - 1]).toBeLessThan(intervalMs);
      for (let s = 1; s < n; s++) expect(offsets[s]).toBeGreaterThan(offsets[s - 1]);
    },
  );

  it.each([1, 2, 3, 7, 60, 90, 600])('tiles the buckets exactly with %i slots', (n) => {
    const owner = new Array<number>(POLL_BUCKETS).fill(-1);
    for (let s = 0; s < n; s++) {
      const { from, to } = slotBucketRange(s, n);
      for (let b = from; b < to; b++) {
        expect(owner[b]).toBe(-1);
        owner[b] = s;
      }
    }
    expect(owner.every((o) => o >= 0)).toBe(true);
    const sizes = Array.from({ length: n }, (_, s) => slotBucketRange(s, n).to - slotBucketRange(s, n).from);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('numbers intervals so that every slot tick of one interval shares the index', () => {
    const intervalMs = 60000;
    const k = 28_000_000;
    const n = pollSlotCount(intervalMs);
    const indices = new Set(
      Array.from({ length: n }, (_, s) =>
        intervalIndex(k * intervalMs + slotOffsetMs(s, n, intervalMs), intervalMs),
      ),
    );
    expect([...indices]).toEqual([k]);
  });
});

describe('offline backoff', () => {
  it('is null before the threshold, then doubles from one interval up to the cap', () => {
    expect(offlineBackoffMs(0, 1, 60000, 900000)).toBeNull();
    expect(offlineBackoffMs(2, 3, 60000, 900000)).toBeNull();
    expect([1, 2, 3, 4, 5, 6].map((f) => offlineBackoffMs(f, 1, 60000, 900000))).toEqual([
      60000, 120000, 240000, 480000, 900000, 900000,
    ]);
    expect(offlineBackoffMs(3, 3, 2000, 900000)).toBe(2000);
  });

  it('never goes below one interval, and survives huge failure counts', () => {
    expect(offlineBackoffMs(1, 1, 60000, 1000)).toBe(60000);
    expect(offlineBackoffMs(1_000_000, 1, 60000, 900000)).toBe(900000);
  });
});

describe('batching', () => {
  it('chunks without losing or repeating items', () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    const chunks = chunk(items, 100);
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(items);
    expect(chunk([], 100)).toEqual([]);
  });

  it('derives batch job ids from slot, tick and chunk, without ":" (BullMQ custom ids)', () => {
    expect(batchJobId(3, 1700000000500, 2)).toBe('batch-3-1700000000500-2');
    expect(batchJobId(3, 1700000000500, 2)).not.toContain(':');
  });

  it('reads the due time of a scheduler job from its id', () => {
    expect(tickTimeFromJobId('repeat:poll-slot:12:1700000000500')).toBe(1700000000500);
    expect(tickTimeFromJobId('batch-x')).toBeNull();
    expect(tickTimeFromJobId(undefined)).toBeNull();
  });
});

describe('response-time histogram', () => {
  it('puts every value in a bucket whose upper bound is within 5 % above it', () => {
    for (const ms of [0, 1, 7, 20, 21, 55, 230, 999, 1000, 4321, 10000, 120000]) {
      const upper = responseTimeBucketUpperMs(responseTimeBucket(ms));
      expect(upper).toBeGreaterThanOrEqual(Math.floor(ms * 0.999));
      expect(upper).toBeLessThanOrEqual(Math.ceil(ms * 1.05) + 1);
    }
    expect(responseTimeBucket(120000)).toBeLessThan(250);
  });

  it('gives percentiles close to the exact ones', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 5 + ((i * 7919) % 1000));
    const histogram = new Map<number, number>();
    for (const v of values)
      histogram.set(responseTimeBucket(v), (histogram.get(responseTimeBucket(v)) ?? 0) + 1);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(p * sorted.length) - 1];
      const approx = histogramPercentile(histogram, p)!;
      expect(Math.abs(approx - exact) / exact).toBeLessThanOrEqual(0.06);
    }
    expect(histogramPercentile(new Map(), 0.5)).toBeNull();
  });
});
