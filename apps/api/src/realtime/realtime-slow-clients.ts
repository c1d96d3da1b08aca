import { Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import type { ClientSocket } from './realtime-session';

/**
 * Socket.IO buffers per socket, so a slow client only grows its own buffer; past `maxBacklog` packets
 * waiting for its transport it is disconnected (it can reconnect), so that buffer stays bounded.
 */
export class SlowClientGuard {
  private readonly logger = new Logger('RealtimeGateway');

  constructor(private readonly maxBacklog: number) {}

  sweep(server: Server): void {
    for (const socket of server.sockets.sockets.values()) {
      // engine.io keeps the packets not yet written in `writeBuffer` (no public accessor).
      const backlog = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
      if (backlog > this.maxBacklog) {
        this.logger.warn(
          `disconnecting slow client ${socket.id} (${(socket as ClientSocket).data.user?.username}): ` +
            `${backlog} packets waiting`,
        );
        socket.disconnect(true);
      }
    }
  }
}
