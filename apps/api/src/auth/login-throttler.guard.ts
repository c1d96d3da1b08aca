import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/**
 * Login rate limit (LOGIN_RATE_LIMIT_PER_MINUTE per client IP + username, 429 beyond). Attempts are counted
 * in Redis (see AuthModule), so the limit is shared by every api instance.
 */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const body = req.body as { username?: unknown } | undefined;
    const username = typeof body?.username === 'string' ? body.username.slice(0, 64).toLowerCase() : '';
    return `${String(req.ip)}|${username}`;
  }
}
