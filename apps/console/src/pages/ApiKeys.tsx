import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../api/client';
import type { ApiKey, Ok, Page } from '../api/types';
import { areaCodes, useVisibleAreas } from '../areas';
import { formatAgo, formatTime } from '../format';
import { NewApiKey } from './api-keys/NewApiKey';
import { Pager } from '../components/Pager';
const PAGE_SIZE = 25;
/** Last use is recorded at most once a minute per key (apps/api/src/api-keys): the list need not be fresher. */
const REFRESH_MS = 30_000;

function keyState(k: ApiKey, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && new Date(k.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

/** Integration keys (admins only; the api answers other roles 403). */
export function ApiKeysPage() {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [confirming, setConfirming] = useState<ApiKey | null>(null);
  const areas = useVisibleAreas();
  const keys = useQuery({
    queryKey: ['api-keys', page],
    queryFn: () =>
      call<Page<ApiKey>>(api.GET('/api/api-keys', { params: { query: { page, limit: PAGE_SIZE } } })),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
  });
  const revoke = useMutation({
    mutationFn: (id: string) =>
      call<Ok<ApiKey>>(api.DELETE('/api/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => setConfirming(null),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  const data = keys.data;
  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">
        Keys for integrations: sent as <code>X-API-Key: &lt;key&gt;</code> or{' '}
        <code>Authorization: Bearer &lt;key&gt;</code>, with the same role and area checks as users.
      </p>
      <NewApiKey />
      {(keys.error ?? revoke.error) && <p role="alert">{(keys.error ?? revoke.error)?.message}</p>}
      <h2>Keys</h2>
      <table data-testid="api-keys-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Role</th>
            <th scope="col">Areas</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {data?.data.map((k) => {
            const state = keyState(k);
            return (
              <tr key={k.id} data-key={k.name}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.role}</td>
                <td>{k.areaIds.length === 0 ? 'all' : areaCodes(k.areaIds, areas.data)}</td>
                <td data-testid="key-last-used" title={formatTime(k.lastUsedAt)}>
                  {formatAgo(k.lastUsedAt)}
                </td>
                <td>{k.expiresAt ? formatTime(k.expiresAt) : 'never'}</td>
                <td data-testid="key-state">{state}</td>
                <td>
                  {state !== 'revoked' && (
                    <button
                      type="button"
                      className="secondary small"
                      aria-label={`Revoke ${k.name}`}
                      onClick={() => setConfirming(k)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data && data.data.length === 0 && <p className="muted">No API key yet.</p>}
      {confirming && (
        <div
          className="confirm"
          role="alertdialog"
          aria-labelledby="revoke-title"
          aria-describedby="revoke-text"
        >
          <h2 id="revoke-title">Revoke {confirming.name}?</h2>
          <p id="revoke-text">
            Every request with the key <code>{confirming.prefix}…</code> is refused from now on, and its live
            connections are closed. This cannot be undone: the integration needs a new key.
          </p>
          <div className="row">
            <button
              type="button"
              className="danger"
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(confirming.id)}
            >
              Revoke
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <Pager label="API key pages" page={page} pages={data?.pagination.pages} onPage={setPage} />
    </section>
  );
}
