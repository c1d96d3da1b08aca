import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { ApiKey, CreatedApiKey, Ok, Page, Role } from '../api/types';
import { areaCodes, useVisibleAreas } from '../areas';
import { AreaPicker } from '../components/AreaPicker';
import { formatAgo, formatTime } from '../format';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];
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
      {data && data.pagination.pages > 1 && (
        <nav className="pager" aria-label="API key pages">
          <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            Page {page} of {data.pagination.pages}
          </span>
          <button type="button" disabled={page >= data.pagination.pages} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

function NewApiKey() {
  const queryClient = useQueryClient();
  const areas = useVisibleAreas();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [areaIds, setAreaIds] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      call<Ok<CreatedApiKey>>(
        api.POST('/api/api-keys', {
          body: {
            name: name.trim(),
            role,
            ...(role !== 'admin' && areaIds.length > 0 && { areaIds }),
            // The date input is local midnight of that day: the key works until the day begins.
            ...(expires && { expiresAt: new Date(`${expires}T00:00`).toISOString() }),
          },
        }),
      ),
    onSuccess: (res) => {
      // The secret lives in this component's state only: gone once dismissed or the page is left.
      setCreated({ name: name.trim(), key: res.data.key });
      setCopied(false);
      setName('');
      setAreaIds([]);
      setExpires('');
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      // No clipboard (insecure origin, denied): the key stays selectable in the field.
      setCopied(false);
    }
  };
  if (created) {
    return (
      <div className="panel secret" role="region" aria-labelledby="secret-title" data-testid="new-key-secret">
        <h2 id="secret-title">Key {created.name} created</h2>
        <p className="warning">
          <strong>Copy the key now: it is shown this once.</strong> Only its hash is stored; if it is lost,
          revoke it and create another.
        </p>
        <div className="row">
          <label className="grow">
            Key
            <input
              readOnly
              value={created.key}
              data-testid="secret-value"
              onFocus={(e) => e.currentTarget.select()}
              spellCheck={false}
            />
          </label>
          <button type="button" onClick={() => void copy()}>
            Copy
          </button>
          <button type="button" className="secondary" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
        <div role="status">{copied && <p>Copied to the clipboard.</p>}</div>
      </div>
    );
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-key-title">
      <h2 id="new-key-title">New API key</h2>
      <div className="row">
        <label>
          Name
          <input
            required
            minLength={3}
            maxLength={64}
            pattern="[A-Za-z0-9 ._\-]+"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Expires on (optional)
          <input
            type="date"
            min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </label>
      </div>
      {areas.data && (
        <AreaPicker
          legend="Areas"
          areas={areas.data}
          value={role === 'admin' ? [] : areaIds}
          onChange={setAreaIds}
          disabledReason={role === 'admin' ? 'admin keys are fleet-wide' : undefined}
        />
      )}
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
      </div>
      <div role="status">{create.error && <p className="error">{create.error.message}</p>}</div>
    </form>
  );
}
