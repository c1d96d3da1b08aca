import { Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import type { User } from '@app/database';
import { LRUCache } from 'lru-cache';
import { isUuid } from '../common';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { UsersService } from '../users/users.service';
import type { AccessTokenClaims, AuthUser } from './auth-user';
import { isApiKeySecret } from './credentials';
import { CREDENTIAL_RECHECK_MS, SessionRevocation } from './session-revocation';

/**
 * Access tokens whose signature has been verified, kept until they expire: a console sends the same token
 * with every request, and checking its HMAC each time was a few per cent of a request's CPU. Only the
 * signature is remembered; the user's row and token version are still checked on every request, so a
 * revocation holds as before. Bounded by count, and never past a token's `exp`.
 */
const VERIFIED_TOKENS_MAX = 10_000;
const USER_ROWS_MAX = 10_000;

@Injectable()
export class AuthService {
  private readonly verifiedTokens = new LRUCache<string, AccessTokenClaims>({ max: VERIFIED_TOKENS_MAX });
  /** User rows by id, as read (or being read: concurrent requests share one read) for token checks. */
  private readonly userRows = new LRUCache<string, Promise<User | undefined>>({
    max: USER_ROWS_MAX,
    ttl: CREDENTIAL_RECHECK_MS,
  });

  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
    revocation: SessionRevocation,
  ) {
    revocation.onRevoked((principal) => {
      if (principal.kind === 'user') this.userRows.delete(principal.id);
    });
  }

  /** Checks the credentials (same answer for unknown user, wrong password and deactivated account). */
  async login(username: string, password: string): Promise<{ token: string; user: User }> {
    const user = await this.users.findByUsername(username);
    if (!user) {
      await this.users.burnPasswordCheck(password);
      throw new UnauthorizedException('Invalid username or password');
    }
    const valid = await this.users.verifyPassword(user, password);
    if (!valid || !user.isActive) throw new UnauthorizedException('Invalid username or password');
    await this.users.recordLogin(user.id);
    const claims: AccessTokenClaims = {
      sub: user.id,
      username: user.username,
      role: user.role,
      tv: user.tokenVersion,
    };
    return { token: await this.jwt.signAsync(claims), user };
  }

  /**
   * The principal of a credential from a request or a handshake: an API key (`hes_…`) or an access token.
   * Throws UnauthorizedException when it is not (or no longer) valid. `fresh`: the user's or key's row is
   * read now (for the sockets' re-checks, which exist to catch a revocation made elsewhere).
   */
  authenticate(credential: string, options: { fresh?: boolean } = {}): Promise<AuthUser> {
    return isApiKeySecret(credential)
      ? this.apiKeys.authenticate(credential, Date.now(), options)
      : this.verifyAccessToken(credential, options);
  }

  /** Logout: ends every token of the user (all their sessions), not only the one presented. */
  async logout(principal: AuthUser): Promise<void> {
    if (principal.kind !== 'user') return;
    await this.users.endSessions(principal.id);
  }

  /**
   * Verifies an access token (HS256 signature with JWT_SECRET, expiry) and that its user still exists, is
   * active and has not ended the token since (token version: logout, password, role, area or active-flag
   * change). The user row is read by primary key at most CREDENTIAL_RECHECK_MS before (see userRow). Returns the
   * user as stored then.
   * Throws UnauthorizedException otherwise. Used by the HTTP guard, the Socket.IO handshake and Bull Board.
   */
  async verifyAccessToken(token: string, options: { fresh?: boolean } = {}): Promise<AuthUser> {
    const claims = await this.verifiedClaims(token);
    if (options.fresh) this.userRows.delete(claims.sub);
    const user = await this.userRow(claims.sub);
    if (!user) throw new UnauthorizedException('User no longer exists');
    if (!user.isActive) throw new UnauthorizedException('User is deactivated');
    if (claims.tv !== user.tokenVersion) throw new UnauthorizedException('Token revoked');
    return {
      id: user.id,
      kind: 'user',
      username: user.username,
      role: user.role,
      areaIds: user.areaIds,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    };
  }

  /** The user's row, read at most CREDENTIAL_RECHECK_MS ago (or being read); a failed read is not kept. */
  private userRow(id: string): Promise<User | undefined> {
    const known = this.userRows.get(id);
    if (known) return known;
    const row = this.users.findById(id);
    this.userRows.set(id, row);
    row.catch(() => {
      if (this.userRows.get(id) === row) this.userRows.delete(id);
    });
    return row;
  }

  /** The claims of a well-signed, unexpired token with a user id (from verifiedTokens when seen before). */
  private async verifiedClaims(token: string): Promise<AccessTokenClaims> {
    const known = this.verifiedTokens.get(token);
    if (known) {
      // jsonwebtoken's own rule: expired from the second `exp` names.
      if (typeof known.exp === 'number' && Math.floor(Date.now() / 1000) >= known.exp) {
        this.verifiedTokens.delete(token);
        throw new UnauthorizedException('Token expired');
      }
      return known;
    }
    let claims: AccessTokenClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessTokenClaims>(token, { algorithms: ['HS256'] });
    } catch (err) {
      if (err instanceof TokenExpiredError) throw new UnauthorizedException('Token expired');
      throw new UnauthorizedException('Invalid token');
    }
    if (!isUuid(claims.sub)) {
      throw new UnauthorizedException('Invalid token');
    }
    this.verifiedTokens.set(token, claims);
    return claims;
  }
}
