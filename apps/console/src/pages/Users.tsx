import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import { ROLES, type Area, type Ok, type Page, type Role, type User } from '../api/types';
import { areaCodes, useVisibleAreas } from '../areas';
import { AreaPicker } from '../components/AreaPicker';
import { formatTime } from '../format';
import { useSession } from '../auth';
import { Pager } from '../components/Pager';

const PAGE_SIZE = 50;
const ADMINS_FLEET_WIDE = 'admins are fleet-wide';

type UserChange = { role?: Role; isActive?: boolean; areaIds?: string[] };

/** Admins only (the route is not offered to other roles, and the api answers them 403). */
export function UsersPage() {
  const me = useSession();
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const users = useQuery({
    queryKey: ['users', page],
    queryFn: () => call<Page<User>>(api.GET('/api/users', { params: { query: { page, limit: PAGE_SIZE } } })),
    placeholderData: keepPreviousData,
  });
  const areas = useVisibleAreas();
  const [editing, setEditing] = useState<string | null>(null);
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: UserChange }) =>
      call<Ok<User>>(api.PATCH('/api/users/{id}', { params: { path: { id } }, body })),
    onSuccess: () => setEditing(null),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['users'] }),
  });
  const data = users.data;
  return (
    <section>
      <h1>Users</h1>
      {(users.error ?? update.error) && <p role="alert">{(users.error ?? update.error)?.message}</p>}
      <table data-testid="users-table">
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Role</th>
            <th scope="col">Active</th>
            <th scope="col">Areas</th>
            <th scope="col">Last login</th>
          </tr>
        </thead>
        <tbody>
          {data?.data.map((u) => {
            const self = u.id === me?.user.id;
            return (
              <tr key={u.id}>
                <td>{u.username}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.username}`}
                    value={u.role}
                    disabled={self || update.isPending}
                    onChange={(e) => {
                      const role = e.target.value as Role;
                      // An admin is fleet-wide: the api refuses areas on one, so they go with the promotion.
                      update.mutate({ id: u.id, body: role === 'admin' ? { role, areaIds: [] } : { role } });
                    }}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${u.username} is active`}
                    checked={u.isActive}
                    disabled={self || update.isPending}
                    onChange={(e) => update.mutate({ id: u.id, body: { isActive: e.target.checked } })}
                  />
                </td>
                <td data-testid="user-areas">
                  {editing === u.id && areas.data ? (
                    <AreasEditor
                      user={u}
                      areas={areas.data}
                      pending={update.isPending}
                      onSave={(areaIds) => update.mutate({ id: u.id, body: { areaIds } })}
                      onCancel={() => setEditing(null)}
                    />
                  ) : (
                    <>
                      {u.areaIds.length === 0 ? 'all' : areaCodes(u.areaIds, areas.data)}{' '}
                      {u.role !== 'admin' && !self && (
                        <button
                          type="button"
                          className="secondary small"
                          aria-label={`Change the areas of ${u.username}`}
                          onClick={() => setEditing(u.id)}
                        >
                          Change
                        </button>
                      )}
                    </>
                  )}
                </td>
                <td>{formatTime(u.lastLoginAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Pager label="User pages" page={page} pages={data?.pagination.pages} onPage={setPage} />
      <NewUser />
    </section>
  );
}

/** Changing a user's areas ends their sessions at once (the api revokes their tokens): they log in again. */
function AreasEditor({
  user,
  areas,
  pending,
  onSave,
  onCancel,
}: {
  user: User;
  areas: readonly Area[];
  pending: boolean;
  onSave: (areaIds: string[]) => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState<string[]>(user.areaIds);
  return (
    <div className="stack">
      <AreaPicker legend={`Areas of ${user.username}`} areas={areas} value={value} onChange={setValue} />
      <div className="row">
        <button type="button" disabled={pending} onClick={() => onSave(value)}>
          Save areas
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function NewUser() {
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [areaIds, setAreaIds] = useState<string[]>([]);
  const areas = useVisibleAreas();
  const create = useMutation({
    mutationFn: () =>
      call<Ok<User>>(
        api.POST('/api/users', {
          body: { username, password, role, ...(role !== 'admin' && areaIds.length > 0 && { areaIds }) },
        }),
      ),
    onSuccess: () => {
      setUsername('');
      setPassword('');
      setAreaIds([]);
      void queryClient.invalidateQueries({ queryKey: ['users'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-user-title">
      <h2 id="new-user-title">New user</h2>
      <div className="row">
        <label>
          Username
          <input
            required
            minLength={3}
            maxLength={64}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={128}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
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
      </div>
      {areas.data && (
        <AreaPicker
          legend="Areas"
          areas={areas.data}
          value={role === 'admin' ? [] : areaIds}
          onChange={setAreaIds}
          disabledReason={role === 'admin' ? ADMINS_FLEET_WIDE : undefined}
        />
      )}
      <div className="row">
        <button type="submit" disabled={create.isPending}>
          Create
        </button>
      </div>
      <div role="status">{create.error && <p className="error">{create.error.message}</p>}</div>
    </form>
  );
}
