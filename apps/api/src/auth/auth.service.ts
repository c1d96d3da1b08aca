import { Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import type { User } from '@app/database';
import { isUuid } from '../common';
import { UsersService } from '../users/users.service';
import type { AccessTokenClaims, AuthUser } from './auth-user';

@Injectable()
export class AuthService {
  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
  ) {}

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
    const claims: AccessTokenClaims = { sub: user.id, username: user.username, role: user.role };
    return { token: await this.jwt.signAsync(claims), user };
  }

  /**
   * Verifies an access token (HS256 signature with JWT_SECRET, expiry) and that its user still exists
   * and is active. Returns the user as stored now (a changed role applies at once).
   * Throws UnauthorizedException otherwise. Used by the HTTP guard and the Socket.IO handshake.
   */
  async verifyAccessToken(token: string): Promise<AuthUser> {
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
    const user = await this.users.findById(claims.sub);
    if (!user) throw new UnauthorizedException('User no longer exists');
    if (!user.isActive) throw new UnauthorizedException('User is deactivated');
    return { id: user.id, username: user.username, role: user.role };
  }
}
