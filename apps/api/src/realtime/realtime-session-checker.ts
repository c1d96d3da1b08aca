import { Injectable, Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import { AuthService } from '../auth/auth.service';
import type { ClientSocket } from './realtime-session';

/**
 * The periodic re-check of open connections, a backstop to the immediate disconnection on revocation
 * (SessionRevocation): expired tokens and keys are cut off locally; each principal with sockets here is
 * re-checked once (one credential), and only when that fails are its other sockets checked one by one
 * (so a deactivated user loses every socket, and one expired token does not cost a user their other
 * sessions).
 */
@Injectable()
export class RealtimeSessionChecker {
  private readonly logger = new Logger('RealtimeGateway');
  private running = false;

  constructor(private readonly auth: AuthService) {}

  async sweep(server: Server, now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const byPrincipal = new Map<string, ClientSocket[]>();
      for (const s of server.sockets.sockets.values()) {
        const socket = s as ClientSocket;
        if (!socket.data?.user) continue;
        if (socket.data.user.expiresAt !== null && socket.data.user.expiresAt <= now) {
          this.drop(socket, 'credential expired');
          continue;
        }
        const key = `${socket.data.user.kind}:${socket.data.user.id}`;
        const list = byPrincipal.get(key) ?? [];
        list.push(socket);
        byPrincipal.set(key, list);
      }
      for (const sockets of byPrincipal.values()) {
        if (await this.stillValid(sockets[0])) continue;
        for (const socket of sockets) {
          if (socket === sockets[0] || !(await this.stillValid(socket)))
            this.drop(socket, 'no longer authorised');
        }
      }
    } catch (err) {
      this.logger.warn(`re-checking socket sessions failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  /**
   * Checks a socket's credential once more, dropping it when it no longer holds. Run right after a socket
   * joined its principal's room: a revocation committed between its handshake check and that join would
   * otherwise have missed it.
   */
  async confirm(socket: ClientSocket): Promise<void> {
    if (!(await this.stillValid(socket))) this.drop(socket, 'revoked while connecting');
  }

  private async stillValid(socket: ClientSocket): Promise<boolean> {
    try {
      // Read now, not from the api's short memo of user rows: these checks catch revocations made elsewhere.
      socket.data.user = await this.auth.authenticate(socket.data.credential, { fresh: true });
      return true;
    } catch (err) {
      // Only an authentication verdict drops a session; a database hiccup does not.
      return !isUnauthorized(err);
    }
  }

  private drop(socket: ClientSocket, reason: string): void {
    this.logger.log(`disconnecting socket ${socket.id} of ${socket.data.user.username}: ${reason}`);
    socket.disconnect(true);
  }
}

function isUnauthorized(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { getStatus?: () => number }).getStatus?.() === 401
  );
}
