import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { api, call } from '../api/client';
import {
  METER_STATUSES,
  type MeterStatusChangeEvent,
  type Ok,
  type Page,
  type Meter,
  type PollingStatus,
} from '../api/types';
import { StatusBadge } from '../components/StatusBadge';
import { formatMs, formatTime } from '../format';
import { useCan } from '../auth';
import { useRoom } from '../live';
import { Link } from '../router';

const FEED_SIZE = 50;
/** Polling figures change once per interval at most; counts also follow live status changes. */
const REFRESH_MS = 5_000;

export function FleetPage() {
  const queryClient = useQueryClient();
  const [feed, setFeed] = useState<MeterStatusChangeEvent[]>([]);
  const pendingRefresh = useRef<number | null>(null);
  // Counts and the live feed are the user's areas' (the api scopes them); polling figures are system-wide.
  const { fleetWide } = useCan();

  const polling = useQuery({
    queryKey: ['polling-status'],
    queryFn: () => call<Ok<PollingStatus>>(api.GET('/api/meters/polling/status')),
    refetchInterval: REFRESH_MS,
  });
  // One count per status from the server (limit=1: only the total is read), never the fleet itself.
  const counts = useQueries({
    queries: METER_STATUSES.map((status) => ({
      queryKey: ['meter-count', status],
      queryFn: () =>
        call<Page<Meter>>(api.GET('/api/meters', { params: { query: { status, limit: 1, page: 1 } } })),
      refetchInterval: REFRESH_MS * 2,
      select: (p: Page<Meter>) => p.pagination.total,
    })),
  });

  useRoom('meters', {
    onStatus: (e) => {
      setFeed((f) => [e, ...f].slice(0, FEED_SIZE));
      // Coalesce a burst of changes (a dark area) into one recount.
      if (pendingRefresh.current === null) {
        pendingRefresh.current = window.setTimeout(() => {
          pendingRefresh.current = null;
          void queryClient.invalidateQueries({ queryKey: ['meter-count'] });
          void queryClient.invalidateQueries({ queryKey: ['polling-status'] });
        }, 500);
      }
    },
  });

  const p = polling.data?.data;
  return (
    <section>
      <h1>Fleet overview</h1>
      <h2>Meters by status{fleetWide ? '' : ' (your areas)'}</h2>
      <dl className="tiles" aria-label="Meters by status">
        {METER_STATUSES.map((status, i) => (
          <div key={status} className={`tile status-${status}`} data-testid={`count-${status}`}>
            <dt>{status}</dt>
            <dd>{counts[i]?.data ?? '…'}</dd>
          </div>
        ))}
      </dl>

      <h2>Polling</h2>
      {!fleetWide && <p className="muted">Polling and queue figures are for the whole system.</p>}
      {polling.error && <p role="alert">{polling.error.message}</p>}
      {p && (
        <dl className="facts" data-testid="polling-status">
          <dt>Polling</dt>
          <dd>{p.isPolling ? 'running' : 'stopped'}</dd>
          <dt>Interval</dt>
          <dd>{p.pollingIntervalMs / 1000} s</dd>
          <dt>Last interval</dt>
          <dd>
            {formatTime(p.lastInterval.from)} – {formatTime(p.lastInterval.to)}
          </dd>
          <dt>Polled</dt>
          <dd data-testid="last-polled">{p.lastInterval.polled}</dd>
          <dt>Succeeded</dt>
          <dd>{p.lastInterval.succeeded}</dd>
          <dt>Failed</dt>
          <dd>{p.lastInterval.failed}</dd>
          <dt>Response time p95</dt>
          <dd>{formatMs(p.lastInterval.responseTimeMs.p95)}</dd>
          <dt>Workers</dt>
          <dd data-testid="workers">{p.workers}</dd>
          <dt>Active polls</dt>
          <dd>
            {p.activePolls} / {p.maxConcurrentPolls}
          </dd>
          <dt>Poll queue</dt>
          <dd>
            {p.queues.poll.waiting} waiting, {p.queues.poll.active} active, {p.queues.poll.delayed} delayed
          </dd>
          <dt>Command queue</dt>
          <dd>
            {p.queues.command.waiting} waiting, {p.queues.command.active} active
          </dd>
        </dl>
      )}

      <h2>Live status changes{fleetWide ? '' : ' (your areas)'}</h2>
      {feed.length === 0 ? (
        <p className="muted">No status change since this page opened.</p>
      ) : (
        <ol className="feed" data-testid="status-feed" aria-live="polite">
          {feed.map((e) => (
            <li key={`${e.meterId}-${e.timestamp}-${e.status}`}>
              <time dateTime={e.timestamp}>{formatTime(e.timestamp)}</time>{' '}
              <Link to={`/meters/${e.meterId}`}>{e.meterNumber}</Link>{' '}
              <StatusBadge status={e.previousStatus} /> → <StatusBadge status={e.status} />{' '}
              <span className="muted">{e.reason}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
