import { HttpModule, HttpService } from '@nestjs/axios';
import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { WorkerEnv } from '@app/config';
import { MeterAddressPolicy } from '@app/meter-network';
import { createMeterTransport } from './create-meter-transport';
import { METER_TRANSPORT, type MeterTransport } from './types';

/** Room for on-demand commands beside scheduled polls on one address. */
const COMMAND_EXCHANGES = 50;

/** Closes the transport's pooled connections after in-flight work has drained (last shutdown phase). */
@Injectable()
class MeterTransportCloser implements OnApplicationShutdown {
  constructor(@Inject(METER_TRANSPORT) private readonly transport: MeterTransport) {}

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}

/**
 * Provides METER_TRANSPORT from the worker's settings: METER_HTTP_CLIENT, METER_TIMEOUT_MS,
 * METER_RESPONSE_MAX_BYTES, METER_ALLOWED_NETWORKS, METER_ALLOWED_PORTS. Needs WorkerEnv (AppConfigModule.forApp(WorkerEnv)).
 *
 * Connections per meter address: as many as the worker may have exchanges in flight (scheduled polls and
 * commands), because a gateway serving many meters behind one address must not be capped below that:
 * with a small pool, a few silent meters behind a gateway would hold every connection for a whole
 * deadline and blind all the others.
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
          inject: [WorkerEnv, HttpService],
          useFactory: (env: WorkerEnv, http: HttpService): MeterTransport =>
            createMeterTransport(
              env.METER_HTTP_CLIENT,
              {
                timeoutMs: env.METER_TIMEOUT_MS,
                maxResponseBytes: env.METER_RESPONSE_MAX_BYTES,
                addressPolicy: MeterAddressPolicy.parse(env.METER_ALLOWED_NETWORKS, env.METER_ALLOWED_PORTS),
                connectionsPerOrigin:
                  env.METER_MAX_CONCURRENT_POLLS + env.METER_MAX_SILENT_READS + COMMAND_EXCHANGES,
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
