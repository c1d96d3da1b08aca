import { Module } from '@nestjs/common';
import { MeterEventsPublisher } from './meter-events.publisher';

/** Live events from the worker to the api's Socket.IO gateway, through Redis. */
@Module({
  providers: [MeterEventsPublisher],
  exports: [MeterEventsPublisher],
})
export class EventsModule {}
