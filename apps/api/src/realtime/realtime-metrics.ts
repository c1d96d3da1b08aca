import { METRICS } from '@app/metrics';
import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { RealtimeGateway } from './realtime.gateway';

/** hes_socket_clients: Socket.IO clients connected to this instance, read at scrape time. */
@Injectable()
export class RealtimeMetrics {
  constructor(registry: Registry, gateway: RealtimeGateway) {
    new Gauge({
      name: METRICS.SOCKET_CLIENTS,
      help: 'Socket.IO clients connected to this api instance',
      registers: [registry],
      collect() {
        this.set(gateway.localStats().connectedClients);
      },
    });
  }
}
