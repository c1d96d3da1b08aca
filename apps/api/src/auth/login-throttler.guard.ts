import { ExecutionContext, Injectable } from '@nestjs/common';
import { normalizeIp, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerRequest } from '@nestjs/throttler';
import type { HttpRequest, HttpResponse } from '../common/http-types';

/** Attempts from one client address, whatever usernames it tries (password spraying). */
export const LOGIN_PER_ADDRESS = 'login-address';
/** Attempts on one username, from whatever addresses (a botnet on one account). */
export const LOGIN_PER_USERNAME = 'login-username';

/** The username as counted: the DTO's 64-character bound, case folded so that `Admin` counts as `admin`. */
export function loginUsername(req: { body?: unknown }): string | undefined {
  const username = (req.body as { username?: unknown } | undefined)?.username;
  return typeof username === 'string' ? username.slice(0, 64).toLowerCase() : undefined;
}

/**
 * Login rate limit, checked before the password hash is computed: LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE
 * per client address across usernames, and LOGIN_RATE_LIMIT_PER_MINUTE per username across addresses. The
 * address is Express's `req.ip`, so TRUST_PROXY decides whether X-Forwarded-For counts (IPv6 clients are
 * counted per /64, which one subscriber usually holds). Attempts are counted in Redis (AuthModule), shared
 * by every api instance. Beyond a limit: 429 in the envelope with `Retry-After` in seconds.
 */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    if (props.throttler.name === LOGIN_PER_USERNAME) {
      const username = loginUsername(props.context.switchToHttp().getRequest<HttpRequest>());
      // Without a string username the request fails validation before any hash: nothing to count.
      if (username === undefined) return true;
      return super.handleRequest({ ...props, getTracker: () => Promise.resolve(username) });
    }
    return super.handleRequest({
      ...props,
      getTracker: (req) => Promise.resolve(normalizeIp(String(req.ip))),
    });
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    context.switchToHttp().getResponse<HttpResponse>().setHeader('Retry-After', detail.timeToBlockExpire);
    return super.throwThrottlingException(context, detail);
  }
}
