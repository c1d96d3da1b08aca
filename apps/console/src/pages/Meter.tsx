import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type { LatestReading, Meter, ObisDefinition, Ok } from '../api/types';
import { StatusBadge } from '../components/StatusBadge';
import { useCan } from '../auth';
import { formatAgo, formatMs, formatTime, formatValue } from '../format';
import { useRoom } from '../live';
import { Link } from '../router';
import { CommandAudit } from './meter/CommandAudit';
import { HistoryPanel } from './meter/HistoryPanel';
import { LoadProfilePanel } from './meter/LoadProfilePanel';
import { ReadNow } from './meter/ReadNow';
import { StatusControl } from './meter/StatusControl';
import { WritePanel } from './meter/WritePanel';

export function MeterPage({ id }: { id: string }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const meter = useQuery({
    queryKey: ['meter', id],
    queryFn: () => call<Ok<Meter>>(api.GET('/api/meters/{id}', { params: { path: { id } } })),
  });
  const m = meter.data?.data;
  const latest = useQuery({
    queryKey: ['latest', m?.id],
    enabled: !!m,
    queryFn: () =>
      call<Ok<LatestReading>>(api.GET('/api/meters/{id}/obis-readings', { params: { path: { id: m!.id } } })),
  });
  const catalog = useQuery({
    queryKey: ['obis'],
    queryFn: () => call<Ok<ObisDefinition[]>>(api.GET('/api/obis')),
    staleTime: Infinity,
  });

  useRoom(m ? `meter-${m.id}` : null, {
    onReading: (e) => {
      if (e.meterId !== m?.id) return;
      queryClient.setQueryData<Ok<LatestReading>>(['latest', m.id], (old) => {
        if (!old) return old;
        const answered = e.communicationStatus !== 'failed';
        return {
          ...old,
          data: {
            ...old.data,
            lastPollAt: e.timestamp,
            lastError: answered ? null : old.data.lastError,
            ...(answered && {
              readAt: e.timestamp,
              readingType: e.readingType,
              communicationStatus: e.communicationStatus,
              responseTime: e.responseTime,
              readings: e.readings,
              lastSeen: e.timestamp,
            }),
          },
        };
      });
      void queryClient.invalidateQueries({ queryKey: ['history', m.id] });
    },
    onStatus: (e) => {
      if (e.meterId !== m?.id) return;
      queryClient.setQueryData<Ok<Meter>>(
        ['meter', id],
        (old) =>
          old && {
            ...old,
            data: { ...old.data, status: e.status, lastSeen: e.lastSeen ?? old.data.lastSeen },
          },
      );
    },
    onResync: () => {
      void queryClient.invalidateQueries({ queryKey: ['meter', id] });
      if (m) void queryClient.invalidateQueries({ queryKey: ['latest', m.id] });
    },
  });

  if (meter.error) {
    return (
      <section>
        <h1>Meter {id}</h1>
        <p role="alert">{meter.error.message}</p>
        <Link to="/meters">All meters</Link>
      </section>
    );
  }
  if (!m) return <p aria-busy="true">Loading…</p>;
  const l = latest.data?.data;
  const lastSeen = l?.lastSeen ?? m.lastSeen;
  return (
    <section>
      <p>
        <Link to="/meters">← Meters</Link>
      </p>
      <h1>
        Meter {m.meterNumber} <StatusBadge status={m.status} />
      </h1>
      <dl className="facts" data-testid="meter-identity">
        <dt>Status</dt>
        <dd data-testid="meter-status">{m.status}</dd>
        <dt>Last seen</dt>
        <dd>
          {formatAgo(lastSeen)} <span className="muted">({formatTime(lastSeen)})</span>
        </dd>
        <dt>Type</dt>
        <dd>{m.meterType}</dd>
        <dt>Brand / model</dt>
        <dd>
          {m.brand} / {m.model}
        </dd>
        <dt>Firmware</dt>
        <dd>{m.firmware ?? '—'}</dd>
        <dt>Area</dt>
        <dd>
          {m.area.name} ({m.area.code})
        </dd>
        <dt>Address</dt>
        <dd>{m.ipAddress ? `${m.ipAddress}:${m.port ?? ''}` : '—'}</dd>
        <dt>Id</dt>
        <dd>
          <code>{m.id}</code>
        </dd>
      </dl>
      {can.operate && <StatusControl key={m.status} meter={m} />}

      <h2>Latest readings</h2>
      {l && (
        <p className="muted" data-testid="latest-meta">
          Read {formatTime(l.readAt)} ({l.readingType ?? '—'}, {l.communicationStatus ?? '—'}, meter answered
          in {formatMs(l.responseTime)}){l.lastError && <> · last attempt failed: {l.lastError}</>}
        </p>
      )}
      {l && l.readings.length > 0 ? (
        <table data-testid="latest-readings">
          <thead>
            <tr>
              <th scope="col">Quantity</th>
              <th scope="col">OBIS code</th>
              <th scope="col">Value</th>
              <th scope="col">Quality</th>
            </tr>
          </thead>
          <tbody>
            {l.readings.map((r) => (
              <tr key={r.obisCode} data-obis={r.obisCode}>
                <td>{r.name ?? catalog.data?.data.find((d) => d.code === r.obisCode)?.name ?? '—'}</td>
                <td>
                  <code>{r.obisCode}</code>
                </td>
                <td className="num" data-testid="reading-value">
                  {formatValue(r.value, r.unit)}
                </td>
                <td>{r.quality}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No reading yet.</p>
      )}

      {can.operate && <ReadNow meterId={m.id} />}
      {can.operate && catalog.data && <WritePanel meter={m} catalog={catalog.data.data} />}

      <HistoryPanel meterId={m.id} catalog={catalog.data?.data ?? []} />
      <LoadProfilePanel meterId={m.id} meterNumber={m.meterNumber} />
      <CommandAudit meterId={m.id} />
    </section>
  );
}
