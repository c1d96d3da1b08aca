import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { CounterSeries, HotPathCounter } from './hot-path-metrics';
import { METRICS } from './metric-names';

/**
 * hes_events_published_total{event}: live events accepted by the publisher (one per stored read, so on the
 * worker's per-read path: a series per event name, created on first use, then a map lookup and an addition).
 */
@Injectable()
export class EventMetrics {
  private readonly counter: HotPathCounter;
  private readonly byEvent = new Map<string, CounterSeries>();
  private readonly unwatchedCounter: CounterSeries;

  constructor(registry: Registry) {
    this.counter = new HotPathCounter(
      registry,
      METRICS.EVENTS_PUBLISHED,
      'Live events accepted for the Redis stream, by event',
    );
    this.unwatchedCounter = new HotPathCounter(
      registry,
      METRICS.EVENTS_UNWATCHED,
      "Reading updates not published: no one watches their meter's room",
    ).series({});
  }

  unwatched(): void {
    this.unwatchedCounter.value++;
  }

  published(event: string): void {
    let series = this.byEvent.get(event);
    if (!series) this.byEvent.set(event, (series = this.counter.series({ event })));
    series.value++;
  }
}
