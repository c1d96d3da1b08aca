import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { AreasService, toAreaDto } from '../areas/areas.service';
import { AccessScope } from '../auth/access-scope';
import { MetersService } from '../meters/meters.service';
import { toUserDto, UsersService } from '../users/users.service';
import type { AuditTargetType } from './audit-target.decorator';

type Loader = (moduleRef: ModuleRef, ref: string) => Promise<unknown>;

/**
 * How the state of a target is read before a change to it, for the entry's before/after summary. The
 * same views the api answers with (secrets are never in them), read fleet-wide: the audit trail is for
 * admins, and a request outside its caller's scope fails (404) without reaching any change.
 */
const LOADERS: Partial<Record<AuditTargetType, Loader>> = {
  meter: (m, ref) => m.get(MetersService, { strict: false }).getView(ref, AccessScope.fleet),
  area: async (m, ref) =>
    toAreaDto(await m.get(AreasService, { strict: false }).getByIdOrCode(ref, AccessScope.fleet)),
  user: async (m, ref) => toUserDto(await m.get(UsersService, { strict: false }).getById(ref)),
  'api-key': (m, ref) => m.get(ApiKeysService, { strict: false }).get(ref),
};

@Injectable()
export class AuditSnapshots {
  constructor(private readonly moduleRef: ModuleRef) {}

  /** The target's current view, or undefined (no loader, no such target, or it could not be read). */
  async before(target: AuditTargetType, ref: string | undefined): Promise<unknown> {
    const load = LOADERS[target];
    if (!load || !ref) return undefined;
    try {
      return await load(this.moduleRef, ref);
    } catch {
      return undefined;
    }
  }
}
