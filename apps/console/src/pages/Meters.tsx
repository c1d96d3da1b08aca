import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call } from '../api/client';
import { METER_STATUSES, type MeterPage, type MeterStatus } from '../api/types';
import { useVisibleAreas } from '../areas';
import { useCan } from '../auth';
import { StatusBadge } from '../components/StatusBadge';
import { formatAgo } from '../format';
import { useRoom } from '../live';
import { Link, navigate, useLocation } from '../router';

const PAGE_SIZE = 25;
/** The api's largest page. */
const MAX_PAGE_SIZE = 100;
const SEARCH_DEBOUNCE_MS = 300;

interface Filters {
  page: number;
  /** Meters per page (`limit` in the address; PAGE_SIZE when absent). */
  limit: number;
  /** The previous page's nextCursor: the api continues after it (keyset), as fast at page 900 as at page 2. */
  cursor?: string;
  status?: MeterStatus;
  area?: string;
  brand?: string;
  search?: string;
}

function readFilters(search: string): Filters {
  const q = new URLSearchParams(search);
  const status = q.get('status');
  return {
    page: Math.max(1, Number(q.get('page')) || 1),
    limit: Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(Number(q.get('limit'))) || PAGE_SIZE)),
    cursor: q.get('cursor') || undefined,
    status: METER_STATUSES.includes(status as MeterStatus) ? (status as MeterStatus) : undefined,
    area: q.get('area') || undefined,
    brand: q.get('brand') || undefined,
    search: q.get('search') || undefined,
  };
}

/**
 * The cursor that opens each page already seen, per filter: Previous goes back by keyset too. A page
 * reached without one (an address typed or shared without its cursor) is asked for by offset.
 */
const cursorsSeen = new Map<string, Map<number, string | undefined>>();

function filterKey(f: Filters): string {
  return JSON.stringify([f.limit, f.status, f.area, f.brand, f.search]);
}

function cursorsOf(f: Filters): Map<number, string | undefined> {
  const key = filterKey(f);
  let cursors = cursorsSeen.get(key);
  if (!cursors) {
    if (cursorsSeen.size >= 20) cursorsSeen.clear(); // bounded: only the recent filters matter
    cursors = new Map();
    cursorsSeen.set(key, cursors);
  }
  return cursors;
}

/** Filters live in the address, so a filtered page can be reloaded, bookmarked and shared. */
function writeFilters(f: Filters): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f))
    if (v !== undefined && v !== '' && !(k === 'page' && v === 1) && !(k === 'limit' && v === PAGE_SIZE))
      q.set(k, String(v));
  const s = q.toString();
  navigate(s ? `/meters?${s}` : '/meters');
}

export function MetersPage() {
  const { search } = useLocation();
  const filters = readFilters(search);
  const queryClient = useQueryClient();
  const [text, setText] = useState(filters.search ?? '');
  const [brand, setBrand] = useState(filters.brand ?? '');

  useEffect(() => {
    const t = window.setTimeout(() => {
      const next = { search: text.trim() || undefined, brand: brand.trim() || undefined };
      if (next.search !== filters.search || next.brand !== filters.brand)
        writeFilters({ ...filters, ...next, page: 1, cursor: undefined });
    }, SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [text, brand]);

  // The filters are the list's query as they are (the address holds exactly what the api is asked).
  const query = filters;
  const meters = useQuery({
    queryKey: ['meters', query],
    queryFn: () => call<MeterPage>(api.GET('/api/meters', { params: { query } })),
    placeholderData: keepPreviousData,
  });
  // The user's own areas only (the api scopes the list): no other area is offered.
  const areas = useVisibleAreas();
  const { fleetWide } = useCan();

  // Status changes of meters on this page show at once, without reloading the page.
  useRoom('meters', {
    onStatus: (e) => {
      queryClient.setQueryData<MeterPage>(
        ['meters', query],
        (old) =>
          old && {
            ...old,
            data: old.data.map((m) =>
              m.id === e.meterId ? { ...m, status: e.status, lastSeen: e.lastSeen ?? m.lastSeen } : m,
            ),
          },
      );
    },
  });

  const page = meters.data;
  const cursors = cursorsOf(filters);
  if (page && !meters.isPlaceholderData) {
    cursors.set(filters.page, filters.cursor);
    if (page.pagination.nextCursor) cursors.set(filters.page + 1, page.pagination.nextCursor);
  }
  const goTo = (target: number) =>
    writeFilters({ ...filters, page: target, cursor: target > 1 ? cursors.get(target) : undefined });
  return (
    <section>
      <h1>Meters</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            placeholder="number, brand or model"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <label>
          Status
          <select
            value={filters.status ?? ''}
            onChange={(e) =>
              writeFilters({
                ...filters,
                status: (e.target.value || undefined) as MeterStatus | undefined,
                page: 1,
                cursor: undefined,
              })
            }
          >
            <option value="">any</option>
            {METER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Area
          <select
            value={filters.area ?? ''}
            onChange={(e) =>
              writeFilters({ ...filters, area: e.target.value || undefined, page: 1, cursor: undefined })
            }
          >
            <option value="">{fleetWide ? 'any' : 'any of yours'}</option>
            {areas.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.code})
              </option>
            ))}
          </select>
        </label>
        <label>
          Brand
          <input value={brand} onChange={(e) => setBrand(e.target.value)} />
        </label>
      </form>
      {meters.error && <p role="alert">{meters.error.message}</p>}
      <table data-testid="meters-table">
        <caption className="visually-hidden">Meters, page {filters.page}</caption>
        <thead>
          <tr>
            <th scope="col">Meter</th>
            <th scope="col">Status</th>
            <th scope="col">Last seen</th>
            <th scope="col">Area</th>
            <th scope="col">Brand / model</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {page?.data.map((m) => (
            <tr key={m.id} data-meter={m.meterNumber}>
              <td>
                <Link to={`/meters/${m.id}`}>{m.meterNumber}</Link>
              </td>
              <td>
                <StatusBadge status={m.status} />
              </td>
              <td>{formatAgo(m.lastSeen)}</td>
              <td>{m.area.code}</td>
              <td>
                {m.brand} / {m.model}
              </td>
              <td>{m.ipAddress ? `${m.ipAddress}:${m.port ?? ''}` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.data.length === 0 && <p className="muted">No meter matches.</p>}
      {page && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={filters.page <= 1} onClick={() => goTo(filters.page - 1)}>
            Previous
          </button>
          <span>
            Page {page.pagination.page} of {Math.max(1, page.pagination.pages)} · {page.pagination.total}{' '}
            meters
          </span>
          <button
            type="button"
            disabled={filters.page >= page.pagination.pages}
            onClick={() => goTo(filters.page + 1)}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
