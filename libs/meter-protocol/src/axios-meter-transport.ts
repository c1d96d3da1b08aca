import { HttpService } from '@nestjs/axios';
import axios from 'axios';
import { Agent } from 'node:http';
import { firstValueFrom } from 'rxjs';
import {
  type ExchangeDeadline,
  HttpMeterTransport,
  METER_REQUEST_HEADERS,
  type RawMeterResponse,
} from './http-meter-transport';
import type { MeterTransportOptions } from './types';

/**
 * The alternative transport (METER_HTTP_CLIENT=axios) on @nestjs/axios' HttpService, with a keep-alive
 * agent bounded per meter address. axios' own `timeout` is only a socket-inactivity timer, so the
 * whole-exchange deadline aborts it through an AbortSignal.
 */
export class AxiosMeterTransport extends HttpMeterTransport {
  readonly kind = 'axios' as const;
  private readonly agent: Agent;

  private readonly http: HttpService;

  constructor(options: MeterTransportOptions, http?: HttpService) {
    super(options);
    this.http = http ?? new HttpService(axios.create());
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: this.connectionsPerOrigin,
      maxFreeSockets: this.connectionsPerOrigin,
      timeout: this.keepAliveTimeoutMs,
      scheduling: 'lifo',
    });
  }

  protected async post(
    origin: string,
    path: string,
    payload: string,
    deadline: ExchangeDeadline,
  ): Promise<RawMeterResponse> {
    const controller = new AbortController();
    deadline.onExpiry((reason) => controller.abort(reason));
    const response = await firstValueFrom(
      this.http.post<Buffer>(origin + path, payload, {
        headers: { ...METER_REQUEST_HEADERS },
        decompress: false,
        responseType: 'arraybuffer',
        transformResponse: (data: Buffer) => data,
        validateStatus: () => true,
        maxContentLength: this.maxResponseBytes,
        maxBodyLength: this.maxResponseBytes,
        maxRedirects: 0,
        proxy: false,
        timeout: this.timeoutMs,
        signal: controller.signal,
        httpAgent: this.agent,
      }),
    );
    const contentType = response.headers['content-type'];
    return {
      statusCode: response.status,
      contentType: typeof contentType === 'string' ? contentType : null,
      body: Buffer.isBuffer(response.data) ? response.data : Buffer.from(response.data ?? ''),
    };
  }

  protected async closeClient(): Promise<void> {
    this.agent.destroy();
  }
}
