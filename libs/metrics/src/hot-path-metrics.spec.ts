import { Counter, Histogram, Registry } from 'prom-client';
import { HotPathCounter, HotPathHistogram } from './hot-path-metrics';

const BOUNDS = [0.01, 0.1, 1, 10];
const OBSERVED = [0.005, 0.01, 0.05, 0.1, 0.5, 2, 9.99, 10, 11, 300];

describe('hot-path metrics', () => {
  it('expose exactly what prom-client exposes for the same counts and observations', async () => {
    const reference = new Registry();
    const counter = new Counter({
      name: 'x_total',
      help: 'h',
      labelNames: ['result'],
      registers: [reference],
    });
    const histogram = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['kind'],
      buckets: BOUNDS,
      registers: [reference],
    });
    const fast = new Registry();
    const fastCounter = new HotPathCounter(fast, 'x_total', 'h');
    const fastHistogram = new HotPathHistogram(fast, 'x_seconds', 'h', BOUNDS);
    const ok = fastCounter.series({ result: 'ok' });
    const failed = fastCounter.series({ result: 'failed' });
    const a = fastHistogram.series({ kind: 'a' });
    const b = fastHistogram.series({ kind: 'b' });

    for (let i = 0; i < 7; i++) {
      counter.labels('ok').inc();
      ok.value++;
    }
    counter.labels('failed').inc(3);
    failed.value += 3;
    for (const v of OBSERVED) {
      histogram.labels('a').observe(v);
      a.observe(v);
    }
    histogram.labels('b').observe(0.02);
    b.observe(0.02);

    expect(await fast.metrics()).toBe(await reference.metrics());
  });

  it('reset clears every series', async () => {
    const registry = new Registry();
    const histogram = new HotPathHistogram(registry, 'y_seconds', 'h', BOUNDS);
    const series = histogram.series();
    series.observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('y_seconds_count 0');
    expect(await registry.metrics()).toContain('y_seconds_bucket{le="+Inf"} 0');
  });
});
