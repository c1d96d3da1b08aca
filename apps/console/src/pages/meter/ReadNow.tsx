import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { Ok, ReadObisResult } from '../../api/types';
import { formatMs, formatTime } from '../../format';

/** On-demand read: the meter's answer and two latencies, the meter's own and the whole round trip. */
export function ReadNow({ meterId }: { meterId: string }) {
  const queryClient = useQueryClient();
  const read = useMutation({
    mutationFn: async () => {
      const started = performance.now();
      const res = await call<Ok<ReadObisResult>>(
        api.POST('/api/meters/{id}/read-obis', { params: { path: { id: meterId } }, body: {} }),
      );
      return { result: res.data, roundTripMs: performance.now() - started };
    },
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['latest', meterId] });
      void queryClient.invalidateQueries({ queryKey: ['commands', meterId] });
    },
  });
  return (
    <section aria-labelledby="read-now-title" className="panel">
      <h2 id="read-now-title">On-demand read</h2>
      <button type="button" onClick={() => read.mutate()} disabled={read.isPending}>
        {read.isPending ? 'Reading…' : 'Read now'}
      </button>
      <div role="status" data-testid="read-result">
        {read.error && <p className="error">Read failed: {read.error.message}</p>}
        {read.data && (
          <p>
            {read.data.result.communicationStatus === 'success' ? 'Read' : 'Partly read'}{' '}
            {read.data.result.readings.length} values at {formatTime(read.data.result.readAt)}: meter answered
            in <strong data-testid="read-latency">{formatMs(read.data.result.responseTime)}</strong>, round
            trip {formatMs(read.data.roundTripMs)}.{read.data.result.error && <> {read.data.result.error}</>}
          </p>
        )}
      </div>
    </section>
  );
}
