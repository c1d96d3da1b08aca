import { ReadingType } from '@app/contracts';
import { EventMetrics } from '@app/metrics';
import { MeterEventsPublisher, WatchedMeters } from '@app/realtime-publisher';
import { Injectable } from '@nestjs/common';
import type { MeterExchange } from './meter-reader';
import type { StoreResult } from './read-store';

/**
 * Live events of a stored read: the reading update, and the status change when the store made one.
 * Called only after the read's row is committed, while the meter's lock is still held, so one meter's
 * events go out in read order. A read the database already had publishes nothing again.
 *
 * A reading update goes only to its meter's room, so it is published only when someone watches that room
 * (WatchedMeters), and always for an operator's on-demand read. Status changes always go out: they also
 * go to the area and fleet rooms.
 */
@Injectable()
export class ReadEvents {
  constructor(
    private readonly events: MeterEventsPublisher,
    private readonly watched: WatchedMeters,
    private readonly metrics: EventMetrics,
  ) {}

  publish(exchange: MeterExchange, readingType: ReadingType, stored: StoreResult, areaId: string): void {
    if (!stored.stored) return;
    const meter = stored.meter;
    this.readingUpdated(exchange, readingType, meter?.areaId ?? areaId);
    if (!meter || meter.previousStatus === meter.status) return;
    this.events.statusChanged(
      {
        meterId: exchange.meterId,
        meterNumber: meter.meterNumber,
        status: meter.status,
        previousStatus: meter.previousStatus,
        reason: meter.reason ?? 'meter answered',
        lastSeen: meter.lastSeen ? new Date(meter.lastSeen).toISOString() : null,
        timestamp: new Date().toISOString(),
      },
      meter.areaId,
    );
  }

  private readingUpdated(exchange: MeterExchange, readingType: ReadingType, areaId: string): void {
    if (readingType !== 'on-demand' && !this.watched.isWatched(exchange.meterId)) {
      this.metrics.unwatched();
      return;
    }
    this.events.readingUpdated(
      {
        meterId: exchange.meterId,
        meterNumber: exchange.meterNumber,
        readingType,
        communicationStatus: exchange.communicationStatus,
        readings: exchange.readings,
        responseTime: exchange.responseTime,
        timestamp: exchange.readAt,
      },
      areaId,
    );
  }
}
