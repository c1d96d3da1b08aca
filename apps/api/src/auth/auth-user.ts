import type { UserRole } from '@app/database';

/** The authenticated caller, as put on `request.user` by the JWT guard. */
export interface AuthUser {
  id: string;
  username: string;
  role: UserRole;
}

/** Claims of our access tokens (HS256). */
export interface AccessTokenClaims {
  sub: string;
  username: string;
  role: UserRole;
}
