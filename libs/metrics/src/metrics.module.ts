import { DynamicModule, Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { EventMetrics } from './event-metrics';

const DUPLICATE_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * One prom-client Registry per process (not prom-client's global one, so that several in-process apps of a
 * test never share series), with the default process metrics (CPU, memory, event loop lag, GC). Import once
 * at the root: `MetricsModule.forRoot()`; `Registry` and EventMetrics are then injectable everywhere, and
 * each app registers its own domain metrics (ReadMetrics in the worker, HttpMetrics in the api, …).
 */
@Module({})
export class MetricsModule {
  static forRoot(): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry });
            // Gauges named *_total, which promtool (rightly) rejects; nodejs_active_{handles,requests,resources}
            // by type carry the same counts.
            for (const name of DUPLICATE_DEFAULT_METRICS) registry.removeSingleMetric(name);
            return registry;
          },
        },
        EventMetrics,
      ],
      exports: [Registry, EventMetrics],
    };
  }
}
