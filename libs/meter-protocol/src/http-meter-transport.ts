import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
import type { MeterAddressPolicy } from '@app/meter-network';
import { MeterCommunicationError } from './errors';
import { parseProfileBody } from './profile-parser';
import {
  decodeJsonBody,
  parseReadBody,
  parseWriteBody,
  refusalReason,
  requestedObisCodes,
} from './response-parser';
import type {
  MeterProfileResult,
  MeterReadResult,
  MeterTarget,
  MeterTransport,
  MeterTransportKind,
  MeterTransportOptions,
  MeterWriteResult,
  MeterWriteValue,
} from './types';

export const DEFAULT_CONNECTIONS_PER_ORIGIN = 64;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4000;

/** Request headers both clients send: JSON in, JSON out, uncompressed (meter answers are small). */
export const METER_REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  accept: 'application/json',
  'accept-encoding': 'identity',
});

/** A complete HTTP answer: status, content type and the body (already size-checked). */
export interface RawMeterResponse {
  statusCode: number;
  contentType: string | null;
  body: Buffer;
}

/**
 * The one whole-exchange deadline, as a client sees it: it registers how to stop its request, which is
 * called when the deadline passes (at once when it has already passed). Cheaper than an AbortSignal per
 * exchange, which costs a controller, a signal and event listeners on the hot path.
 */
export interface ExchangeDeadline {
  onExpiry(stop: (reason: Error) => void): void;
}

/** Thrown by a client implementation when the body passes the size cap (it has already stopped reading). */
export class ResponseTooLargeSignal extends Error {}

/** Error codes (from node, undici and axios) by what they mean for a meter exchange. */
const REFUSED_CODES = new Set(['ECONNREFUSED']);
const RESET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TOO_LARGE_CODES = new Set(['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED']);

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Everything both HTTP clients share: address checks, the one whole-exchange deadline, error
 * classification, and the single implementation of response parsing. Subclasses only move bytes.
 */
export abstract class HttpMeterTransport implements MeterTransport {
  abstract readonly kind: MeterTransportKind;
  protected readonly timeoutMs: number;
  protected readonly maxResponseBytes: number;
  protected readonly connectionsPerOrigin: number;
  protected readonly keepAliveTimeoutMs: number;
  private readonly addressPolicy: MeterAddressPolicy;
  private closed = false;

  protected constructor(options: MeterTransportOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError('timeoutMs must be > 0');
    }
    if (!Number.isInteger(options.maxResponseBytes) || options.maxResponseBytes <= 0) {
      throw new RangeError('maxResponseBytes must be > 0');
    }
    this.timeoutMs = options.timeoutMs;
    this.maxResponseBytes = options.maxResponseBytes;
    this.connectionsPerOrigin = options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
    this.addressPolicy = options.addressPolicy;
  }

  /**
   * POSTs JSON `payload` to `origin` + `path` and returns the whole answer, stopping at
   * maxResponseBytes (ResponseTooLargeSignal); must stop when `deadline` expires, until the body is read.
   */
  protected abstract post(
    origin: string,
    path: string,
    payload: string,
    deadline: ExchangeDeadline,
  ): Promise<RawMeterResponse>;
  protected abstract closeClient(): Promise<void>;

  async read(target: MeterTarget, obisCodes: readonly string[]): Promise<MeterReadResult> {
    const requested = requestedObisCodes(obisCodes);
    const { json, responseTime, statusCode } = await this.readAnswer(target, {
      obisCodes: requested,
      meterNumber: target.meterNumber,
    });
    const parsed = parseReadBody(json, requested);
    if (!parsed.ok) {
      throw MeterCommunicationError.invalidResponse(parsed.reason, responseTime, statusCode);
    }
    const result: MeterReadResult = {
      communicationStatus: parsed.communicationStatus,
      readings: parsed.readings,
      responseTime,
    };
    if (parsed.error) result.error = parsed.error;
    return result;
  }

  async readProfile(target: MeterTarget, profile: string, from: Date, to: Date): Promise<MeterProfileResult> {
    const [code] = requestedObisCodes([profile]);
    const { json, responseTime, statusCode } = await this.readAnswer(target, {
      profile: code,
      from: from.toISOString(),
      to: to.toISOString(),
      meterNumber: target.meterNumber,
    });
    const parsed = parseProfileBody(json, code);
    if (!parsed.ok) {
      throw MeterCommunicationError.invalidResponse(parsed.reason, responseTime, statusCode);
    }
    return { ...parsed.page, responseTime };
  }

  /**
   * One POST /api/read (registers or a profile page): the decoded JSON of a 2xx answer; any other status
   * or an undecodable body is a MeterCommunicationError.
   */
  private async readAnswer(
    target: MeterTarget,
    payload: object,
  ): Promise<{ json: unknown; responseTime: number; statusCode: number }> {
    const started = performance.now();
    const response = await this.exchange(target, '/api/read', payload, started);
    const responseTime = elapsed(started);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw MeterCommunicationError.httpError(
        response.statusCode,
        responseTime,
        refusalReason(response.body, response.contentType),
      );
    }
    const decoded = decodeJsonBody(response.body, response.contentType);
    if (!decoded.ok) {
      throw MeterCommunicationError.invalidResponse(decoded.reason, responseTime, response.statusCode);
    }
    return { json: decoded.json, responseTime, statusCode: response.statusCode };
  }

  async write(target: MeterTarget, obisCode: string, value: MeterWriteValue): Promise<MeterWriteResult> {
    const [code] = requestedObisCodes([obisCode]);
    const started = performance.now();
    const response = await this.exchange(
      target,
      '/api/write',
      { obisCode: code, value, meterNumber: target.meterNumber },
      started,
    );
    const responseTime = elapsed(started);
    const { statusCode, body, contentType } = response;
    if (statusCode >= 400 && statusCode < 500) {
      // The meter understood and refused (read-only, out of range, unknown meter): a result, not a failure.
      return {
        success: false,
        responseTime,
        statusCode,
        error: refusalReason(body, contentType) ?? `meter refused the write (HTTP ${statusCode})`,
      };
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw MeterCommunicationError.httpError(statusCode, responseTime, refusalReason(body, contentType));
    }
    const decoded = decodeJsonBody(body, contentType);
    if (!decoded.ok) throw MeterCommunicationError.invalidResponse(decoded.reason, responseTime, statusCode);
    const parsed = parseWriteBody(decoded.json);
    if (!parsed.ok) throw MeterCommunicationError.invalidResponse(parsed.reason, responseTime, statusCode);
    const result: MeterWriteResult = { success: parsed.success, responseTime, statusCode };
    if (parsed.previousValue !== undefined) result.previousValue = parsed.previousValue;
    if (parsed.error) result.error = parsed.error;
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeClient();
  }

  private targetOrigin(target: MeterTarget): string {
    const { ipAddress, port } = target;
    const refusal = this.addressPolicy.refusal(ipAddress, port);
    if (refusal)
      throw MeterCommunicationError.notAllowed(this.addressPolicy.describe(refusal, ipAddress, port));
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ipAddress);
    const host = mapped ? mapped[1] : isIP(ipAddress) === 6 ? `[${ipAddress}]` : ipAddress;
    return `http://${host}:${port}`;
  }

  private async exchange(
    target: MeterTarget,
    path: string,
    payload: object,
    started: number,
  ): Promise<RawMeterResponse> {
    if (this.closed) throw MeterCommunicationError.network('meter transport is closed', 0);
    const origin = this.targetOrigin(target);
    let timedOut = false;
    let stopRequest: ((reason: Error) => void) | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      stopRequest?.(new Error('meter deadline'));
    }, this.timeoutMs);
    const deadline: ExchangeDeadline = {
      onExpiry: (stop) => {
        stopRequest = stop;
        if (timedOut) stop(new Error('meter deadline'));
      },
    };
    try {
      return await this.post(origin, path, JSON.stringify(payload), deadline);
    } catch (error) {
      throw this.classify(error, timedOut, elapsed(started));
    } finally {
      clearTimeout(timer);
    }
  }

  private classify(error: unknown, timedOut: boolean, responseTime: number): MeterCommunicationError {
    if (error instanceof MeterCommunicationError) return error;
    if (timedOut) return MeterCommunicationError.timeout(this.timeoutMs, responseTime);
    if (error instanceof ResponseTooLargeSignal) {
      return MeterCommunicationError.tooLarge(this.maxResponseBytes, responseTime);
    }
    const codes = errorCodes(error);
    const text = errorText(error);
    const has = (set: Set<string>) => codes.some((c) => set.has(c));
    if (has(TOO_LARGE_CODES) || /maxContentLength/i.test(text)) {
      return MeterCommunicationError.tooLarge(this.maxResponseBytes, responseTime);
    }
    if (has(REFUSED_CODES)) return MeterCommunicationError.refused(responseTime, error);
    if (has(TIMEOUT_CODES)) return MeterCommunicationError.timeout(this.timeoutMs, responseTime);
    if (has(RESET_CODES) || /aborted|socket hang up|other side closed|terminated/i.test(text)) {
      return MeterCommunicationError.reset(responseTime, error);
    }
    if (codes.some((c) => c.startsWith('HPE_')) || /parse error/i.test(text)) {
      return MeterCommunicationError.invalidResponse('malformed HTTP response', responseTime);
    }
    const code = codes[0];
    return MeterCommunicationError.network(
      code ? `network error ${code}` : `network error: ${text}`,
      responseTime,
      error,
    );
  }
}

function elapsed(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}
