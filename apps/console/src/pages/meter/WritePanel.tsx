import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import type { Meter, ObisDefinition, Ok, WriteObisResult } from '../../api/types';
import { formatMs } from '../../format';

export const DISCONNECT_CONTROL = '0-0:96.3.10.255';

interface Pending {
  obisCode: string;
  value: string;
  label: string;
}

/**
 * Writes to the meter (relay, limiter, clock… every RW code of the catalog). Nothing is sent before the
 * operator confirms what will be written to which meter.
 */
export function WritePanel({ meter, catalog }: { meter: Meter; catalog: ObisDefinition[] }) {
  const queryClient = useQueryClient();
  const writable = catalog.filter((d) => d.access === 'RW');
  const [code, setCode] = useState(writable[0]?.code ?? '');
  const [value, setValue] = useState('');
  const [pending, setPending] = useState<Pending | null>(null);
  const write = useMutation({
    mutationFn: (p: Pending) =>
      call<Ok<WriteObisResult>>(
        api.POST('/api/meters/{id}/write-obis', {
          params: { path: { id: meter.id } },
          body: { obisCode: p.obisCode, value: p.value },
        }),
      ),
    onSettled: () => {
      setPending(null);
      void queryClient.invalidateQueries({ queryKey: ['commands', meter.id] });
    },
  });
  const ask = (p: Pending) => {
    write.reset();
    setPending(p);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const def = writable.find((d) => d.code === code);
    ask({ obisCode: code, value, label: `set ${def?.name ?? code} to "${value}"` });
  };
  return (
    <section aria-labelledby="write-title" className="panel">
      <h2 id="write-title">Control</h2>
      <div className="row">
        <button
          type="button"
          className="danger"
          onClick={() =>
            ask({ obisCode: DISCONNECT_CONTROL, value: 'disconnected', label: 'disconnect the supply' })
          }
        >
          Disconnect
        </button>
        <button
          type="button"
          onClick={() =>
            ask({ obisCode: DISCONNECT_CONTROL, value: 'connected', label: 'reconnect the supply' })
          }
        >
          Reconnect
        </button>
      </div>
      <form className="row" onSubmit={submit}>
        <label>
          Parameter
          <select value={code} onChange={(e) => setCode(e.target.value)}>
            {writable.map((d) => (
              <option key={d.code} value={d.code}>
                {d.name} ({d.code}){d.unit ? ` [${d.unit}]` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input value={value} required onChange={(e) => setValue(e.target.value)} />
        </label>
        <button type="submit">Write…</button>
      </form>
      {pending && (
        <div
          role="alertdialog"
          aria-labelledby="confirm-title"
          className="confirm"
          data-testid="confirm-write"
        >
          <p id="confirm-title">
            Really {pending.label} on meter <strong>{meter.meterNumber}</strong>?
          </p>
          <button
            type="button"
            className="danger"
            disabled={write.isPending}
            onClick={() => write.mutate(pending)}
          >
            {write.isPending ? 'Writing…' : 'Confirm'}
          </button>{' '}
          <button
            type="button"
            className="secondary"
            disabled={write.isPending}
            onClick={() => setPending(null)}
          >
            Cancel
          </button>
        </div>
      )}
      <div role="status" data-testid="write-result">
        {write.error && <p className="error">Write failed: {write.error.message}</p>}
        {write.data && (
          <p>
            Written: {write.data.data.obisCode} = {String(write.data.data.value)} (was{' '}
            {String(write.data.data.previousValue ?? '—')}), meter answered in{' '}
            {formatMs(write.data.data.responseTime)}.
          </p>
        )}
      </div>
    </section>
  );
}
