import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../common/http-types';
import { AccessScope, SCOPE_KEY } from './access-scope';
import { AuthService } from './auth.service';
import type { AuthUser } from './auth-user';
import { credentialFromHeaders } from './credentials';
import { IS_PUBLIC_KEY } from './decorators';

export type AuthenticatedRequest = HttpRequest & { user?: AuthUser; [SCOPE_KEY]?: AccessScope };

/**
 * Global guard: every HTTP route needs a credential unless marked `@Public()`: an access token or an API
 * key, as `Authorization: Bearer <…>` or `X-API-Key: <key>`. Sets `request.user` (the principal) and its
 * AccessScope, which controllers pass down with `@Scope()`. Socket.IO connections authenticate in the
 * gateway's handshake (AuthService.authenticate), so non-HTTP contexts are left to it.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const found = credentialFromHeaders(req.headers);
    if ('missing' in found) {
      throw new UnauthorizedException(
        'Missing credentials (expected "Authorization: Bearer <token>" or "X-API-Key: <key>")',
      );
    }
    if ('malformed' in found) throw new UnauthorizedException(found.malformed);
    const principal = await this.auth.authenticate(found.credential);
    req.user = principal;
    req[SCOPE_KEY] = AccessScope.of(principal);
    return true;
  }
}
