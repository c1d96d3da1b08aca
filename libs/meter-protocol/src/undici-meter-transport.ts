import { Agent } from 'undici';
import {
  HttpMeterTransport,
  METER_REQUEST_HEADERS,
  ResponseTooLargeSignal,
  type RawMeterResponse,
} from './http-meter-transport';
import type { MeterTransportOptions } from './types';

/**
 * The default transport: undici's dispatcher `request()` over a keep-alive Agent (one bounded pool per
 * meter address). Measured cheapest per request (bench/transport.bench.ts). Never follows redirects.
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

  protected async post(
    origin: string,
    path: string,
    payload: string,
    signal: AbortSignal,
  ): Promise<RawMeterResponse> {
    const response = await this.agent.request({
      origin,
      path,
      method: 'POST',
      headers: METER_REQUEST_HEADERS,
      body: payload,
      signal,
    });
    const { statusCode, headers, body } = response;
    const declared = Number(headers['content-length']);
    if (declared > this.maxResponseBytes) {
      body.destroy();
      throw new ResponseTooLargeSignal();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxResponseBytes) {
        body.destroy();
        throw new ResponseTooLargeSignal();
      }
      chunks.push(chunk);
    }
    const contentType = headers['content-type'];
    return {
      statusCode,
      contentType: typeof contentType === 'string' ? contentType : null,
      body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size),
    };
  }

  protected async closeClient(): Promise<void> {
    await this.agent.close();
  }
}
