import { HttpModule, HttpService } from '@nestjs/axios';
import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createMeterTransport } from './create-meter-transport';
import { METER_TRANSPORT, type MeterTransport, type MeterTransportKind } from './types';

const DEFAULT_TIMEOUT_MS = 10000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;
const DEFAULT_ALLOWED_NETWORKS = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10';

/** Closes the transport's pooled connections after in-flight work has drained (last shutdown phase). */
@Injectable()
class MeterTransportCloser implements OnApplicationShutdown {
  constructor(@Inject(METER_TRANSPORT) private readonly transport: MeterTransport) {}

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}

/**
 * Provides METER_TRANSPORT from config: METER_HTTP_CLIENT ('undici' default | 'axios'),
 * METER_TIMEOUT_MS, METER_RESPONSE_MAX_BYTES, METER_ALLOWED_NETWORKS. Needs a global ConfigModule.
 */
@Module({})
export class MeterProtocolModule {
  static forRoot(options: { global?: boolean } = {}): DynamicModule {
    return {
      module: MeterProtocolModule,
      global: options.global ?? true,
      imports: [HttpModule],
      providers: [
        {
          provide: METER_TRANSPORT,
          inject: [ConfigService, HttpService],
          useFactory: (config: ConfigService, http: HttpService): MeterTransport =>
            createMeterTransport(
              config.get<MeterTransportKind>('METER_HTTP_CLIENT') ?? 'undici',
              {
                timeoutMs: Number(config.get('METER_TIMEOUT_MS') ?? DEFAULT_TIMEOUT_MS),
                maxResponseBytes: Number(
                  config.get('METER_RESPONSE_MAX_BYTES') ?? DEFAULT_MAX_RESPONSE_BYTES,
                ),
                allowedNetworks: config.get<string>('METER_ALLOWED_NETWORKS') ?? DEFAULT_ALLOWED_NETWORKS,
              },
              http,
            ),
        },
        MeterTransportCloser,
      ],
      exports: [METER_TRANSPORT],
    };
  }
}
