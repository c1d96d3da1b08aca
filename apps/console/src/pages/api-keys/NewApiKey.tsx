import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ROLES, type CreatedApiKey, type Ok, type Role } from '../../api/types';
import { useVisibleAreas } from '../../areas';
import { AreaPicker } from '../../components/AreaPicker';

/**
 * The new-key form, then the new key's secret: shown once, kept only in this component's state (gone
 * once dismissed or the page is left), with a copy button and the warning that it is not shown again.
 */
export function NewApiKey() {
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
