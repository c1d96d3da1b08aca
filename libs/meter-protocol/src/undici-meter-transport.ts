import { Agent, type Dispatcher } from 'undici';
import {
  type ExchangeDeadline,
  HttpMeterTransport,
  METER_REQUEST_HEADERS,
  ResponseTooLargeSignal,
  type RawMeterResponse,
} from './http-meter-transport';
import type { MeterTransportOptions } from './types';

/**
 * The default transport: undici's `dispatch()` over a keep-alive Agent (one bounded pool per meter
 * address). Measured cheapest per request (bench/transport.bench.ts): the answer's chunks are collected
 * in the handler's callbacks, with no body stream, no async iterator and no AbortSignal per exchange.
 * Never follows redirects.
 */
export class UndiciMeterTransport extends HttpMeterTransport {
  readonly kind = 'undici' as const;
  private readonly agent: Agent;

  constructor(options: MeterTransportOptions) {
    super(options);
    this.agent = new Agent({
      connections: this.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: this.keepAliveTimeoutMs,
      keepAliveMaxTimeout: this.keepAliveTimeoutMs,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      maxResponseSize: this.maxResponseBytes,
      connect: { timeout: this.timeoutMs },
    });
  }

  protected post(
    origin: string,
    path: string,
    payload: string,
    deadline: ExchangeDeadline,
  ): Promise<RawMeterResponse> {
    const maxBytes = this.maxResponseBytes;
    return new Promise<RawMeterResponse>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let statusCode = 0;
      let contentType: string | null = null;
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (controller) => deadline.onExpiry((reason) => controller.abort(reason)),
        onResponseStart: (controller, status, headers) => {
          if (Number(headers['content-length']) > maxBytes) {
            controller.abort(new ResponseTooLargeSignal());
            return;
          }
          statusCode = status;
          const type = headers['content-type'];
          contentType = typeof type === 'string' ? type : null;
        },
        onResponseData: (controller, chunk) => {
          size += chunk.length;
          if (size > maxBytes) {
            controller.abort(new ResponseTooLargeSignal());
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd: () =>
          resolve({
            statusCode,
            contentType,
            body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size),
          }),
        onResponseError: (_controller, error) => reject(error),
      };
      this.agent.dispatch(
        { origin, path, method: 'POST', headers: METER_REQUEST_HEADERS, body: payload },
        handler,
      );
    });
  }

  protected async closeClient(): Promise<void> {
    await this.agent.close();
  }
}
