import type { UserRole } from '@app/database';

/**
 * The authenticated caller, as put on `request.user` by the auth guard and on a socket's session: a user
 * (access token) or an integration (API key). The same role and area checks apply to both.
 */
export interface AuthUser {
  /** The user's id, or the API key's id. */
  id: string;
  kind: 'user' | 'api-key';
  /** The username, or the key's name. */
  username: string;
  role: UserRole;
  /** The areas the caller may see and act on; empty means fleet-wide. */
  areaIds: string[];
  /** Epoch ms after which the credential is no longer accepted (token `exp`, key `expiresAt`), if any. */
  expiresAt: number | null;
}

/** Claims of our access tokens (HS256). `tv` is the user's token version when it was issued. */
export interface AccessTokenClaims {
  sub: string;
  username: string;
  role: UserRole;
  tv: number;
  exp?: number;
}

/** The Socket.IO room of every socket of one principal, so its sessions can be ended across instances. */
export function principalRoom(principal: Pick<AuthUser, 'id' | 'kind'>): string {
  return principal.kind === 'user' ? `user-${principal.id}` : `key-${principal.id}`;
}
