import { useSyncExternalStore } from 'react';
import type { Role } from './api/types';
import { session, type Session } from './session';

export function useSession(): Session | null {
  return useSyncExternalStore(session.subscribe, session.get);
}

/** What a role may do in the console; the api enforces the same rules (403) whatever the UI shows. */
export function can(role: Role | undefined) {
  return {
    /** On-demand reads, writes, meter status changes (admin, operator). */
    operate: role === 'admin' || role === 'operator',
    /** Areas: create and edit (admin, operator). */
    editAreas: role === 'admin' || role === 'operator',
    /** Users, the polling interval (admin). */
    administer: role === 'admin',
  };
}

export function useCan() {
  return can(useSession()?.user.role);
}
