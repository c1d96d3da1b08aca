import { Injectable, Logger, Module } from '@nestjs/common';
import type { Server } from 'socket.io';
import { type AuthUser, principalRoom } from './auth-user';

/**
 * How long an instance reuses the row read to check a credential (a user's, for its token version; an API
 * key's): reading it on every request was one of the two or three statements most requests make. A
 * revocation forgets the row at once on the instance that made it and, through the Socket.IO adapter
 * (Redis), on every other instance within milliseconds (SessionRevocation); this delay only bounds the
 * case where that message is lost with Redis (SECURITY.md "Revocation").
 */
export const CREDENTIAL_RECHECK_MS = 1_000;

/** The message every api instance gets (Socket.IO `serverSideEmit`) when a principal's credentials change. */
const REVOKED_EVENT = 'credentials-revoked';

/**
 * Ends the live sessions of a user or key whose credentials were just revoked. HTTP: every instance's memos
 * of user and key rows forget it (`onRevoked`): this one's at once, the others' when the adapter's
 * `serverSideEmit` reaches them (and within CREDENTIAL_RECHECK_MS whatever happens). Open sockets are
 * disconnected through the
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
    // Revocations made through other instances.
    server.on(REVOKED_EVENT, (principal: Partial<Pick<AuthUser, 'id' | 'kind'>>) => {
      if (typeof principal?.id === 'string' && (principal.kind === 'user' || principal.kind === 'api-key'))
        this.forget({ id: principal.id, kind: principal.kind });
    });
  }

  /** After the revocation is committed: disconnects the principal's sockets on every instance. */
  disconnect(principal: Pick<AuthUser, 'id' | 'kind'>, reason: string): void {
    this.forget(principal);
    const room = principalRoom(principal);
    if (!this.server) return;
    try {
      this.server.serverSideEmit(REVOKED_EVENT, { id: principal.id, kind: principal.kind });
    } catch (err) {
      // An adapter without inter-instance messages: the others re-read within CREDENTIAL_RECHECK_MS.
      this.logger.warn(`revocation not sent to other instances: ${(err as Error).message}`);
    }
    this.logger.log(`disconnecting the sockets of ${room}: ${reason}`);
    // Closes the local sockets at once; other instances are told through the adapter (best effort: a
    // message lost with Redis is covered by their periodic re-check and by every reconnection's check).
    this.server.in(room).disconnectSockets(true);
  }

  private forget(principal: Pick<AuthUser, 'id' | 'kind'>): void {
    for (const listener of this.listeners) listener(principal);
  }
}

@Module({ providers: [SessionRevocation], exports: [SessionRevocation] })
export class SessionRevocationModule {}
