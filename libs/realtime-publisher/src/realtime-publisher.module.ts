import { DynamicModule, Module } from '@nestjs/common';
import { MeterEventsPublisher, REALTIME_PUBLISHER_NAME } from './meter-events.publisher';

/**
 * Live events to the api instances' Socket.IO gateways, through Redis. Import once at the root of a
 * process (needs the global config): `RealtimePublisherModule.forRoot('w')` in the worker, `('a')` in the
 * api; MeterEventsPublisher is then injectable everywhere (one publisher, one sequence, per process).
 */
@Module({})
export class RealtimePublisherModule {
  static forRoot(name: string): DynamicModule {
    return {
      module: RealtimePublisherModule,
      global: true,
      providers: [{ provide: REALTIME_PUBLISHER_NAME, useValue: name }, MeterEventsPublisher],
      exports: [MeterEventsPublisher],
    };
  }
}
