import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { METRICS } from './metric-names';

/** hes_events_published_total{event}: live events handed to the publisher, one cached child per event. */
@Injectable()
export class EventMetrics {
  private readonly counter: Counter<'event'>;
  private readonly children = new Map<string, Counter.Internal>();

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: METRICS.EVENTS_PUBLISHED,
      help: 'Live events appended to the Redis stream, by event',
      labelNames: ['event'],
      registers: [registry],
    });
  }

  published(event: string, count = 1): void {
    let child = this.children.get(event);
    if (!child) this.children.set(event, (child = this.counter.labels(event)));
    child.inc(count);
  }
}
