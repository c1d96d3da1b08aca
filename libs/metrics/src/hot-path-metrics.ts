import type { Metric, Registry } from 'prom-client';

/** One line of the exposition, as prom-client's Registry renders it. */
interface ExposedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * Counters and histograms for the worker's per-read path. prom-client builds a label hash and validates
 * the labels on every `inc`/`observe`, even through a `labels()` child (a read and its lag cost ~2.9 µs that
 * way on our 2-core machine, ~45 ns with these);
 * these series are plain numbers created once, so recording is a few additions, and the text exposition
 * is built only when Prometheus scrapes (the same format as prom-client's, which the spec checks).
 */
abstract class HotPathMetric<S> {
  private readonly all: Array<{ labels: Record<string, string>; values: S }> = [];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  readonly aggregator = 'sum';

  protected add(labels: Record<string, string>, values: S): S {
    this.all.push({ labels, values });
    return values;
  }

  protected abstract render(labels: Record<string, string>, values: S): ExposedValue[];

  protected abstract clear(values: S): void;

  /** What prom-client's Registry reads at scrape time (the shape of its own metrics' `get()`). */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExposedValue[] }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.all.flatMap((s) => this.render(s.labels, s.values)),
    });
  }

  reset(): void {
    for (const s of this.all) this.clear(s.values);
  }
}

export interface CounterSeries {
  value: number;
}

export class HotPathCounter extends HotPathMetric<CounterSeries> {
  constructor(registry: Registry, name: string, help: string) {
    super(registry, name, help, 'counter');
  }

  /** One series, created once: `series.value += n` to count. */
  series(labels: Record<string, string> = {}): CounterSeries {
    return this.add(labels, { value: 0 });
  }

  protected render(labels: Record<string, string>, values: CounterSeries): ExposedValue[] {
    return [{ labels, value: values.value, metricName: this.name }];
  }

  protected clear(values: CounterSeries): void {
    values.value = 0;
  }
}

export class HistogramSeries {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one is above every bound (+Inf). */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** Cumulative count of observations ≤ bounds[i] (i = bounds.length: all). */
  cumulative(): number[] {
    let seen = 0;
    return Array.from(this.counts, (n) => (seen += n));
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export class HotPathHistogram extends HotPathMetric<HistogramSeries> {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(registry, name, help, 'histogram');
  }

  /** One series, created once: `series.observe(seconds)`. */
  series(labels: Record<string, string> = {}): HistogramSeries {
    return this.add(labels, new HistogramSeries(this.bounds));
  }

  protected render(labels: Record<string, string>, s: HistogramSeries): ExposedValue[] {
    const cumulative = s.cumulative();
    return [
      ...cumulative.map((value, i) => ({
        labels: { le: i < this.bounds.length ? this.bounds[i] : '+Inf', ...labels },
        value,
        metricName: `${this.name}_bucket`,
      })),
      { labels, value: s.sum, metricName: `${this.name}_sum` },
      { labels, value: s.count, metricName: `${this.name}_count` },
    ];
  }

  protected clear(values: HistogramSeries): void {
    values.clear();
  }
}
