import { ObisReadingValue, PolledMeter, ReadCommandResult } from '@app/contracts';
import { isMeterCommunicationError, METER_TRANSPORT, type MeterTransport } from '@app/meter-protocol';
import { DEFAULT_METER_PORT } from '@app/meter-network';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import { Inject, Injectable, Logger } from '@nestjs/common';

export { DEFAULT_METER_PORT };

/** One exchange with a meter. */
export interface MeterExchange extends ReadCommandResult {
  /** ISO time the exchange started: the read record's read_at. */
  readAt: string;
}

/**
 * One exchange with a meter through the transport (its own deadline covers connect, headers and body).
 * Never throws: a meter that fails is an outcome to store.
 */
@Injectable()
export class MeterReader {
  private readonly logger = new Logger(MeterReader.name);
  constructor(@Inject(METER_TRANSPORT) private readonly transport: MeterTransport) {}

  async read(meter: PolledMeter, obisCodes?: readonly string[]): Promise<MeterExchange> {
    const codes = obisCodes?.length
      ? obisCodes
      : meter.obisCodes?.length
        ? meter.obisCodes
        : DEFAULT_OBIS_CODES;
    const readAt = new Date().toISOString();
    const base = { meterId: meter.id, meterNumber: meter.meterNumber, readAt };
    const failed = (error: string, responseTime: number, failureKind: string): MeterExchange => ({
      ...base,
      communicationStatus: 'failed',
      readings: [],
      responseTime,
      error,
      failureKind,
    });
    if (!meter.ipAddress) return failed('meter has no address', 0, 'network');
    try {
      const result = await this.transport.read(
        {
          ipAddress: meter.ipAddress,
          port: meter.port ?? DEFAULT_METER_PORT,
          meterNumber: meter.meterNumber,
        },
        codes,
      );
      const exchange: MeterExchange = {
        ...base,
        communicationStatus: result.communicationStatus,
        readings: result.readings as ObisReadingValue[],
        responseTime: result.responseTime,
      };
      if (result.error) exchange.error = result.error;
      return exchange;
    } catch (error) {
      if (isMeterCommunicationError(error)) return failed(error.message, error.responseTime, error.kind);
      this.logger.error(`unexpected error reading meter ${meter.meterNumber}: ${(error as Error).message}`);
      return failed(`unexpected error: ${(error as Error).message}`, 0, 'network');
    }
  }
}
