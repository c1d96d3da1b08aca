import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import { ApiErrorDto } from '../common/envelope';
import type { UserRole } from '@app/database';
import type { AuthUser } from './auth-user';

export const IS_PUBLIC_KEY = 'auth:isPublic';
export const ROLES_KEY = 'auth:roles';

/** Marks public operations in the OpenAPI document; createOpenApiDocument turns it into `security: []`. */
export const OPENAPI_PUBLIC_EXTENSION = 'x-public';

/**
 * Opens a route (or controller) to unauthenticated callers. Every other route requires a valid token.
 * OpenAPI: the operation needs no credentials (`security: []`).
 */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiExtension(OPENAPI_PUBLIC_EXTENSION, true));

/**
 * Restricts a route (or controller) to these roles; without it any authenticated user may call it.
 * OpenAPI: documents the 403 it answers to the other roles.
 */
export const Roles = (...roles: UserRole[]): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiResponse({ status: 403, type: ApiErrorDto, description: `Only for roles: ${roles.join(', ')}` }),
  );

/** The authenticated caller (`AuthUser`) of an HTTP route. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthUser | undefined =>
    ctx.switchToHttp().getRequest<{ user?: AuthUser }>().user,
);
