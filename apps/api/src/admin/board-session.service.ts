import { ApiEnv } from '@app/config';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHmac } from 'node:crypto';
import { isUuid } from '../common';
import { UsersService } from '../users/users.service';

/** A board session lasts at most this long; reopening it needs an admin's API token again. */
export const BOARD_SESSION_TTL_S = 15 * 60;

export type BoardSessionCheck = 'admin' | 'not-admin' | 'invalid';

/**
 * Short-lived sessions for Bull Board, which a browser opens without a bearer header. They are signed with
 * a key derived from JWT_SECRET for this purpose only, so a board session is never accepted as an API
 * token and an API token never travels to the board in a URL. The user is looked up again on every check:
 * a deactivated or demoted admin loses the board at the next click.
 */
@Injectable()
export class BoardSessionService {
  private readonly key: string;

  constructor(
    private readonly jwt: JwtService,
    private readonly users: UsersService,
    env: ApiEnv,
  ) {
    this.key = createHmac('sha256', env.JWT_SECRET).update('hes:bull-board-session').digest('base64url');
  }

  issue(userId: string): Promise<string> {
    return this.jwt.signAsync(
      { sub: userId },
      { secret: this.key, algorithm: 'HS256', expiresIn: BOARD_SESSION_TTL_S },
    );
  }

  async check(token: string): Promise<BoardSessionCheck> {
    let sub: unknown;
    try {
      ({ sub } = await this.jwt.verifyAsync<{ sub: unknown }>(token, {
        secret: this.key,
        algorithms: ['HS256'],
      }));
    } catch {
      return 'invalid';
    }
    if (typeof sub !== 'string' || !isUuid(sub)) return 'invalid';
    const user = await this.users.findById(sub);
    if (!user?.isActive) return 'invalid';
    return user.role === 'admin' ? 'admin' : 'not-admin';
  }
}
