import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { AuditPage } from '../api/types';
import { formatTime } from '../format';
import { Link, navigate, useLocation } from '../router';
import { AuditChanges } from './audit/AuditChanges';

const PAGE_SIZE = 50;
const ACTION_PREFIXES = ['meter.', 'area.', 'user.', 'api-key.', 'session.', 'polling.'];

interface Filters {
  actor?: string;
  action?: string;
  target?: string;
  /** `datetime-local` values (the browser's time zone). */
  from?: string;
  to?: string;
}
const FILTER_KEYS = ['actor', 'action', 'target', 'from', 'to'] as const;

function readFilters(search: string): Filters {
  const q = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, q.get(k) || undefined])) as Filters;
}

/** Filters live in the address, so an investigation can be reloaded and shared. */
function filterLink(f: Filters): string {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return s ? `/audit?${s}` : '/audit';
}

const writeFilters = (f: Filters) => navigate(filterLink(f));

const isoOrUndefined = (local: string | undefined) => (local ? new Date(local).toISOString() : undefined);

/** The audit trail (admins only): who changed what, newest first, in pages of PAGE_SIZE. */
export function AuditPage() {
  const { search } = useLocation();
  // New filters (applied, or back/forward in the history) start again from the newest page.
  return <AuditView key={search} search={search} />;
}

function AuditView({ search }: { search: string }) {
  const filters = readFilters(search);
  const [draft, setDraft] = useState<Filters>(filters);
  // Keyset pages: the cursors of the pages before this one, to go back (the api pages older only).
  const [cursors, setCursors] = useState<(number | undefined)[]>([]);
  const [before, setBefore] = useState<number | undefined>(undefined);
  const query = {
    actor: filters.actor,
    action: filters.action,
    target: filters.target,
    from: isoOrUndefined(filters.from),
    to: isoOrUndefined(filters.to),
    before,
    limit: PAGE_SIZE,
  };
  const entries = useQuery({
    queryKey: ['audit', query],
    queryFn: () => call<AuditPage>(api.GET('/api/audit', { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setCursors([]);
    setBefore(undefined);
    writeFilters(draft);
  };
  const field = (k: keyof Filters) => ({
    value: draft[k] ?? '',
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value || undefined }),
  });
  const data = entries.data;
  return (
    <section>
      <h1>Audit trail</h1>
      <form className="filters" role="search" aria-label="Audit filters" onSubmit={apply}>
        <label>
          Actor (name or id)
          <input {...field('actor')} maxLength={64} />
        </label>
        <label>
          Action
          <input
            {...field('action')}
            list="audit-actions"
            placeholder="meter.update or meter."
            maxLength={64}
          />
          <datalist id="audit-actions">
            {ACTION_PREFIXES.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          Target id
          <input {...field('target')} maxLength={128} />
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit">Apply</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft({});
            setCursors([]);
            setBefore(undefined);
            writeFilters({});
          }}
        >
          Clear
        </button>
      </form>
      {entries.error && <p role="alert">{entries.error.message}</p>}
      <table data-testid="audit-table">
        <caption className="visually-hidden">Audit entries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {data?.data.map((e) => (
            <tr key={e.id} data-action={e.action}>
              <td>
                <time dateTime={e.at}>{formatTime(e.at)}</time>
              </td>
              <td data-testid="audit-actor">
                <Link to={filterLink({ actor: e.actorId ?? e.actorName })} title="Only this actor's entries">
                  {e.actorName}
                </Link>{' '}
                <span className="muted">({e.actorType === 'api-key' ? 'API key' : e.actorType})</span>
              </td>
              <td>
                <code className="action">{e.action}</code>
              </td>
              <td>
                {e.targetType ?? ''}{' '}
                {e.targetId && (
                  <Link to={filterLink({ target: e.targetId })} title="Every entry about this target">
                    <code className="id">{e.targetId}</code>
                  </Link>
                )}
              </td>
              <td className={e.outcome === 'success' ? undefined : 'error'}>
                {e.outcome} ({e.statusCode})
              </td>
              <td>
                <AuditChanges entry={e} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.data.length === 0 && <p className="muted">No entry matches.</p>}
      <nav className="pager" aria-label="Audit pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => {
            setBefore(cursors[cursors.length - 1]);
            setCursors(cursors.slice(0, -1));
          }}
        >
          Newer
        </button>
        <span>Page {cursors.length + 1}</span>
        <button
          type="button"
          disabled={!data?.pagination.nextBefore}
          onClick={() => {
            setCursors([...cursors, before]);
            setBefore(data?.pagination.nextBefore ?? undefined);
          }}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
