import {
  BadGatewayException,
  ConflictException,
  GatewayTimeoutException,
  HttpException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { WriteCommandResult } from '@app/contracts';

/** HTTP statuses of a meter's refusal that are passed through as they are (the client's request was wrong). */
const PASSTHROUGH_REFUSALS: ReadonlySet<number> = new Set([400, 403, 409, 422]);

/** The worker gave up on the meter (or never reached it): what the caller is told. */
export function failureToHttp(kind: string | undefined, message: string, meterNumber: string): HttpException {
  switch (kind) {
    case 'timeout':
    case 'refused':
    case 'reset':
    case 'network':
      return new GatewayTimeoutException(`Meter ${meterNumber} is unreachable: ${message}`);
    case 'not-allowed':
      return new ConflictException(`Meter ${meterNumber} was not contacted: ${message}`);
    case 'expired':
      return new ServiceUnavailableException(
        `No worker could start the command on meter ${meterNumber} in time; the meter was not contacted`,
      );
    case 'busy':
      return new ServiceUnavailableException(
        `Meter ${meterNumber} stayed busy with another exchange: ${message}`,
      );
    case 'not-found':
      return new NotFoundException(`Meter ${meterNumber} no longer exists`);
    default:
      // http-error, invalid-response, too-large, or an answer without a single usable value
      return new BadGatewayException(`Meter ${meterNumber} gave no usable answer: ${message}`);
  }
}

/** A write the meter did not apply: its 4xx reason passed through, anything else as a gateway error. */
export function writeRefusalToHttp(result: WriteCommandResult, meterNumber: string): HttpException {
  const reason = result.error ?? 'the meter refused the write';
  if (result.failureKind) return failureToHttp(result.failureKind, reason, meterNumber);
  if (result.meterStatusCode !== undefined && PASSTHROUGH_REFUSALS.has(result.meterStatusCode)) {
    return new HttpException(`Meter ${meterNumber} refused the write: ${reason}`, result.meterStatusCode);
  }
  return new BadGatewayException(`Meter ${meterNumber} refused the write: ${reason}`);
}
