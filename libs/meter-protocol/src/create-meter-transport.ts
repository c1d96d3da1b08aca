import type { HttpService } from '@nestjs/axios';
import { AxiosMeterTransport } from './axios-meter-transport';
import { UndiciMeterTransport } from './undici-meter-transport';
import {
  METER_TRANSPORT_KINDS,
  type MeterTransport,
  type MeterTransportKind,
  type MeterTransportOptions,
} from './types';

/** Builds a transport outside Nest (benchmarks, tests). `http` is only used by the axios transport. */
export function createMeterTransport(
  kind: MeterTransportKind,
  options: MeterTransportOptions,
  http?: HttpService,
): MeterTransport {
  switch (kind) {
    case 'undici':
      return new UndiciMeterTransport(options);
    case 'axios':
      return new AxiosMeterTransport(options, http);
    default:
      throw new RangeError(`METER_HTTP_CLIENT must be one of ${METER_TRANSPORT_KINDS.join(', ')}`);
  }
}
