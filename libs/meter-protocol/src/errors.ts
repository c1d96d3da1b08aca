export const METER_FAILURE_KINDS = [
  'refused',
  'timeout',
  'reset',
  'http-error',
  'invalid-response',
  'too-large',
  'not-allowed',
  'network',
] as const;
export type MeterFailureKind = (typeof METER_FAILURE_KINDS)[number];

/** A meter exchange that produced no usable answer. `message` is what operators see (last_error). */
export class MeterCommunicationError extends Error {
  override readonly name = 'MeterCommunicationError';

  constructor(
    readonly kind: MeterFailureKind,
    message: string,
    readonly responseTime: number,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static refused(responseTime: number, cause?: unknown) {
    return new MeterCommunicationError('refused', 'connection refused', responseTime, undefined, { cause });
  }

  static timeout(timeoutMs: number, responseTime: number, phase?: string) {
    const detail = phase ? ` (${phase})` : '';
    return new MeterCommunicationError('timeout', `no answer within ${timeoutMs} ms${detail}`, responseTime);
  }

  static reset(responseTime: number, cause?: unknown) {
    return new MeterCommunicationError(
      'reset',
      'connection closed by the meter before a complete answer',
      responseTime,
      undefined,
      { cause },
    );
  }

  static httpError(statusCode: number, responseTime: number, reason?: string) {
    const suffix = reason ? `: ${reason}` : '';
    return new MeterCommunicationError(
      'http-error',
      `HTTP ${statusCode} from meter${suffix}`,
      responseTime,
      statusCode,
    );
  }

  static invalidResponse(detail: string, responseTime: number, statusCode?: number) {
    return new MeterCommunicationError('invalid-response', detail, responseTime, statusCode);
  }

  static tooLarge(maxBytes: number, responseTime: number, statusCode?: number) {
    return new MeterCommunicationError(
      'too-large',
      `response larger than ${maxBytes} bytes`,
      responseTime,
      statusCode,
    );
  }

  /** `why` comes from MeterAddressPolicy.describe (which address or port, which setting). */
  static notAllowed(why: string) {
    return new MeterCommunicationError('not-allowed', `${why}; meter not contacted`, 0);
  }

  static network(detail: string, responseTime: number, cause?: unknown) {
    return new MeterCommunicationError('network', detail, responseTime, undefined, { cause });
  }
}

export function isMeterCommunicationError(e: unknown): e is MeterCommunicationError {
  return e instanceof MeterCommunicationError;
}
