import { useSyncExternalStore } from 'react';
import type { User } from './api/types';
import { session, type Session } from './session';

export function useSession(): Session | null {
  return useSyncExternalStore(session.subscribe, session.get);
}

/**
 * What a user may do in the console; the api enforces the same rules (403, or 404 outside the user's
 * areas) whatever the UI shows. `areaIds` empty means fleet-wide (apps/api/src/auth/access-scope.ts).
 */
export function can(user: Pick<User, 'role' | 'areaIds'> | undefined) {
  const role = user?.role;
  // Sessions stored before users carried areas read as fleet-wide here; the api still scopes them.
  const fleetWide = (user?.areaIds ?? []).length === 0;
  return {
    /** On-demand reads, writes, meter status changes (admin, operator). */
    operate: role === 'admin' || role === 'operator',
    /** Areas: edit (admin, operator). */
    editAreas: role === 'admin' || role === 'operator',
    /** Areas: create (admin, operator, fleet-wide only: a new area would be outside the user's own). */
    createAreas: (role === 'admin' || role === 'operator') && fleetWide,
    /** Users, API keys, the audit trail, the polling interval (admin). */
    administer: role === 'admin',
    fleetWide,
  };
}

export function useCan() {
  return can(useSession()?.user);
}
