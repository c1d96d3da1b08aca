import type { Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth-user';
import { API_KEY_PREFIX } from '../auth/credentials';

/** What a connection carries once its handshake passed (never sent to clients or stored in Redis). */
export interface SocketSession {
  user: AuthUser;
  /** The access token or API key it authenticated with, re-checked periodically. */
  credential: string;
  pendingRoomChecks: number;
  /** Area rooms joined only on behalf of `meters` (area-scoped callers), left with it. */
  fleetRooms: string[];
}

export type ClientSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  SocketSession
>;

/** What the client sees on `connect_error`: `err.message === 'unauthorized'`, the reason in `err.data`. */
export function unauthorized(reason: string): Error {
  return Object.assign(new Error('unauthorized'), { data: { message: reason } });
}

/**
 * The credential of a handshake: `auth: { token }` or `auth: { apiKey }` (socket.io-client), or the
 * `Authorization: Bearer …` / `X-API-Key` header (Node clients). An access token or an API key either way.
 */
export function handshakeCredential(socket: Pick<Socket, 'handshake'>): string | undefined {
  const auth = socket.handshake.auth as { token?: unknown; apiKey?: unknown } | undefined;
  for (const value of [auth?.token, auth?.apiKey]) {
    if (typeof value === 'string' && value.trim()) return value.trim().replace(/^Bearer\s+/i, '');
  }
  const header = socket.handshake.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  if (match) return match[1];
  const apiKey = socket.handshake.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim().startsWith(API_KEY_PREFIX) ? apiKey.trim() : undefined;
}

/** Kept for existing callers: the credential of a handshake (token or key). */
export const handshakeToken = handshakeCredential;
