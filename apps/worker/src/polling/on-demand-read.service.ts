import { PolledMeter, ReadCommandResult } from '@app/contracts';
import { ReadMetrics } from '@app/metrics';
import { Injectable } from '@nestjs/common';
import { MeterReader } from './meter-reader';
import { ReadEvents } from './read-events';
import { readRecord, ReadStore } from './read-store';

/**
 * An operator's read of one meter: the exchange, its record (stored like any read, retried until
 * PostgreSQL answers) and its live events. The caller holds the meter's lock (the command executor), and
 * the poll cap does not apply, so commands never queue behind the scheduled backlog.
 */
@Injectable()
export class OnDemandReadService {
  constructor(
    private readonly reader: MeterReader,
    private readonly store: ReadStore,
    private readonly events: ReadEvents,
    private readonly metrics: ReadMetrics,
  ) {}

  async read(meter: PolledMeter, obisCodes?: readonly string[]): Promise<ReadCommandResult> {
    const exchange = await this.reader.read(meter, obisCodes);
    this.metrics.read('on-demand', exchange.communicationStatus, exchange.responseTime);
    const stored = await this.store.store(readRecord(exchange, 'on-demand', null));
    this.events.publish(exchange, 'on-demand', stored, meter.areaId);
    const { meterId, meterNumber, communicationStatus, readings, responseTime, readAt } = exchange;
    const result: ReadCommandResult = {
      meterId,
      meterNumber,
      communicationStatus,
      readings,
      responseTime,
      readAt,
    };
    if (exchange.error) result.error = exchange.error;
    if (exchange.failureKind) result.failureKind = exchange.failureKind;
    return result;
  }
}
