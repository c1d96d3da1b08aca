import { Injectable, Logger, Module } from '@nestjs/common';
import type { Server } from 'socket.io';
import { type AuthUser, principalRoom } from './auth-user';

/**
 * How long an instance reuses the row read to check a credential (a user's, for its token version; an API
 * key's): reading it on every request was one of the two or three statements most requests make. A
 * revocation made through the instance forgets the row at once (SessionRevocation.onRevoked); one made
 * through another instance holds here within this delay (SECURITY.md "Revocation").
 */
export const CREDENTIAL_RECHECK_MS = 1_000;

/**
 * Ends the live sessions of a user or key whose credentials were just revoked. HTTP: the instance's own
 * memos of user and key rows forget it at once (`onRevoked`); other instances re-read them within
 * CREDENTIAL_RECHECK_MS. Open sockets are disconnected through the
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
