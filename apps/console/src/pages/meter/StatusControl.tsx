import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { METER_STATUSES, type Meter, type MeterStatus, type Ok } from '../../api/types';

/**
 * Sets the meter's status (e.g. `warehouse` or `faulty` takes it out of polling, `online` brings it back):
 * `PATCH /api/meters/:id`. The change is recorded and published by the api (the live feed shows it).
 */
export function StatusControl({ meter }: { meter: Meter }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<MeterStatus>(meter.status);
  const update = useMutation({
    mutationFn: (next: MeterStatus) =>
      call<Ok<Meter>>(
        api.PATCH('/api/meters/{id}', { params: { path: { id: meter.id } }, body: { status: next } }),
      ),
    onSuccess: (res) => {
      queryClient.setQueryData<Ok<Meter>>(['meter', meter.id], res);
      void queryClient.invalidateQueries({ queryKey: ['meter'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate(status);
  };
  return (
    <form className="row" onSubmit={submit} aria-label="Meter status">
      <label>
        Set status
        <select value={status} onChange={(e) => setStatus(e.target.value as MeterStatus)}>
          {METER_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={update.isPending || status === meter.status}>
        Change status
      </button>
      <span role="status">{update.error && <span className="error">{update.error.message}</span>}</span>
    </form>
  );
}
