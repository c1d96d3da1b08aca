import { useQuery } from '@tanstack/react-query';
import { api, call } from './api/client';
import type { Area, Page } from './api/types';

const PAGE = 100;
/** Pickers list at most this many areas (10 pages); a fleet with more needs a search, not a longer list. */
const MAX_PAGES = 10;

async function fetchVisibleAreas(): Promise<Area[]> {
  const areas: Area[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await call<Page<Area>>(api.GET('/api/areas', { params: { query: { page, limit: PAGE } } }));
    areas.push(...res.data);
    if (page >= res.pagination.pages) break;
  }
  return areas;
}

/**
 * The areas the logged-in user may see: the api filters `/api/areas` by the caller's scope, so every
 * picker built from this offers the user's own areas and no other (an admin's: all of them).
 */
export function useVisibleAreas(enabled = true) {
  return useQuery({ queryKey: ['areas', 'visible'], queryFn: fetchVisibleAreas, staleTime: 60_000, enabled });
}

/** `CODE1, CODE2` for a list of area ids, from the visible areas (the id itself when unknown). */
export function areaCodes(ids: readonly string[], areas: readonly Area[] | undefined): string {
  const byId = new Map((areas ?? []).map((a) => [a.id, a.code]));
  return ids.map((id) => byId.get(id) ?? id).join(', ');
}
