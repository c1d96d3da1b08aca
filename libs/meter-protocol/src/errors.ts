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

  /**
   * A meter failing is an outcome (stored, counted, shown as last_error), never a bug: its stack is never
   * shown, and capturing one for each of thousands of failed exchanges a minute costs real CPU.
   */
  private static make(
    ...args: ConstructorParameters<typeof MeterCommunicationError>
  ): MeterCommunicationError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new MeterCommunicationError(...args);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  static refused(responseTime: number, cause?: unknown) {
    return MeterCommunicationError.make('refused', 'connection refused', responseTime, undefined, { cause });
  }

  static timeout(timeoutMs: number, responseTime: number, phase?: string) {
    const detail = phase ? ` (${phase})` : '';
    return MeterCommunicationError.make('timeout', `no answer within ${timeoutMs} ms${detail}`, responseTime);
  }

  static reset(responseTime: number, cause?: unknown) {
    return MeterCommunicationError.make(
      'reset',
      'connection closed by the meter before a complete answer',
      responseTime,
      undefined,
      { cause },
    );
  }

  static httpError(statusCode: number, responseTime: number, reason?: string) {
    const suffix = reason ? `: ${reason}` : '';
    return MeterCommunicationError.make(
      'http-error',
      `HTTP ${statusCode} from meter${suffix}`,
      responseTime,
      statusCode,
    );
  }

  static invalidResponse(detail: string, responseTime: number, statusCode?: number) {
    return MeterCommunicationError.make('invalid-response', detail, responseTime, statusCode);
  }

  static tooLarge(maxBytes: number, responseTime: number, statusCode?: number) {
    return MeterCommunicationError.make(
      'too-large',
      `response larger than ${maxBytes} bytes`,
      responseTime,
      statusCode,
    );
  }

  /** `why` comes from MeterAddressPolicy.describe (which address or port, which setting). */
  static notAllowed(why: string) {
    return MeterCommunicationError.make('not-allowed', `${why}; meter not contacted`, 0);
  }

  static network(detail: string, responseTime: number, cause?: unknown) {
    return MeterCommunicationError.make('network', detail, responseTime, undefined, { cause });
  }
}

export function isMeterCommunicationError(e: unknown): e is MeterCommunicationError {
  return e instanceof MeterCommunicationError;
}
