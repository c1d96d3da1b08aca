import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { inArray, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { AuthUser } from './auth-user';

/**
 * What part of the fleet a caller may see and act on: the one place the area policy lives. A caller with
 * no areas is fleet-wide; otherwise every meter, area, reading, command and room outside its areas is
 * treated as if it did not exist (404, filtered out of lists, refused rooms). Repositories take a scope
 * as a required argument and apply `filter()`, so a query cannot forget it; code that is fleet-wide on
 * purpose says so with `AccessScope.fleet`.
 */
export class AccessScope {
  static readonly fleet = new AccessScope(null);

  /** null: fleet-wide. */
  readonly areaIds: readonly string[] | null;

  private constructor(areaIds: readonly string[] | null) {
    this.areaIds = areaIds && areaIds.length > 0 ? [...new Set(areaIds)] : null;
  }

  static of(principal: Pick<AuthUser, 'areaIds'>): AccessScope {
    return principal.areaIds.length > 0 ? new AccessScope(principal.areaIds) : AccessScope.fleet;
  }

  get isFleetWide(): boolean {
    return this.areaIds === null;
  }

  allowsArea(areaId: string): boolean {
    return this.areaIds === null || this.areaIds.includes(areaId.toLowerCase());
  }

  /** The condition restricting an area-id column to this scope; undefined when fleet-wide. */
  filter(areaIdColumn: AnyPgColumn): SQL | undefined {
    return this.areaIds === null ? undefined : inArray(areaIdColumn, [...this.areaIds]);
  }
}

/** The caller's scope, set by the auth guard next to `request.user`. */
export const SCOPE_KEY = 'accessScope';

/**
 * The AccessScope of the HTTP request. Throws when the guard did not set one (a route reached without
 * authentication must not fall back to fleet-wide).
 */
export const Scope = createParamDecorator((_data: unknown, ctx: ExecutionContext): AccessScope => {
  const scope = ctx.switchToHttp().getRequest<{ [SCOPE_KEY]?: AccessScope }>()[SCOPE_KEY];
  if (!scope) throw new Error('No access scope on this request: is the route @Public()?');
  return scope;
});
