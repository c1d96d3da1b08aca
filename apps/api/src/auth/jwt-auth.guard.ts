import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../common/http-types';
import { AuthService } from './auth.service';
import type { AuthUser } from './auth-user';
import { IS_PUBLIC_KEY } from './decorators';

/**
 * Global guard: every HTTP route needs `Authorization: Bearer <token>` unless marked `@Public()`.
 * Socket.IO connections authenticate in the gateway's handshake (AuthService.verifyAccessToken), so
 * non-HTTP contexts are left to it.
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
    const req = context.switchToHttp().getRequest<HttpRequest & { user?: AuthUser }>();
    const header = req.headers.authorization;
    if (!header) throw new UnauthorizedException('Missing Authorization header (expected "Bearer <token>")');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException('Malformed Authorization header (expected "Bearer <token>")');
    req.user = await this.auth.verifyAccessToken(match[1]);
    return true;
  }
}
