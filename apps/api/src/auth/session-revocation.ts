import { Injectable, Logger, Module } from '@nestjs/common';
import type { Server } from 'socket.io';
import { type AuthUser, principalRoom } from './auth-user';

/**
 * Ends the live sessions of a user or key whose credentials were just revoked. HTTP: the instance's own
 * memo of user rows (AuthService) forgets the user at once (`onRevoked`); other instances re-read it within
 * AuthService's USER_RECHECK_MS. Open sockets are disconnected through the
 * Socket.IO adapter: every socket of a principal is in its `user-{id}` / `key-{id}` room, and
 * `disconnectSockets` on a room reaches the sockets of every api instance (the streams adapter carries the
 * request through Redis). The gateway attaches its server at init; before that there are no sockets.
 */
@Injectable()
export class SessionRevocation {
  private readonly logger = new Logger(SessionRevocation.name);
  private server?: Server;
  private readonly listeners: ((principal: Pick<AuthUser, 'id' | 'kind'>) => void)[] = [];

  /** `listener` is told of every revocation on this instance, synchronously, before the sockets are cut. */
  onRevoked(listener: (principal: Pick<AuthUser, 'id' | 'kind'>) => void): void {
    this.listeners.push(listener);
  }

  attach(server: Server): void {
    this.server = server;
  }

  /** After the revocation is committed: disconnects the principal's sockets on every instance. */
  disconnect(principal: Pick<AuthUser, 'id' | 'kind'>, reason: string): void {
    for (const listener of this.listeners) listener(principal);
    const room = principalRoom(principal);
    if (!this.server) return;
    this.logger.log(`disconnecting the sockets of ${room}: ${reason}`);
    // Closes the local sockets at once; other instances are told through the adapter (best effort: a
    // message lost with Redis is covered by their periodic re-check and by every reconnection's check).
    this.server.in(room).disconnectSockets(true);
  }
}

@Module({ providers: [SessionRevocation], exports: [SessionRevocation] })
export class SessionRevocationModule {}
