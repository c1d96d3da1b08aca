import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api, call } from '../../api/client';
import type { BucketPoint, ObisDefinition, Page, SeriesPoint } from '../../api/types';
import { HistoryChart, type ChartSeries } from '../../components/HistoryChart';

const RANGES = [
  { label: 'Last hour', ms: 3_600_000 },
  { label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
  { label: 'Last 31 days', ms: 31 * 24 * 3_600_000 },
] as const;
const BUCKETS = ['raw', '15m', '1h', '1d'] as const;
type Bucket = (typeof BUCKETS)[number];
const DEFAULT_CODE = '1-0:32.7.0.255';

function toChart(points: SeriesPoint[] | BucketPoint[], bucket: Bucket): ChartSeries {
  const x = points.map((p) => new Date(p.timestamp).getTime() / 1000);
  if (bucket === 'raw') {
    const raw = points as SeriesPoint[];
    return {
      x,
      lines: [
        {
          label: 'value',
          color: '#1f5fbf',
          values: raw.map((p) => (typeof p.value === 'number' ? p.value : null)),
        },
      ],
    };
  }
  const b = points as BucketPoint[];
  return {
    x,
    lines: [
      { label: 'avg', color: '#1f5fbf', values: b.map((p) => p.avg) },
      { label: 'min', color: '#2e7d32', values: b.map((p) => p.min) },
      { label: 'max', color: '#b3261e', values: b.map((p) => p.max) },
    ],
  };
}

/** One numeric quantity over a chosen range, raw or aggregated per bucket by the api. */
export function HistoryPanel({ meterId, catalog }: { meterId: string; catalog: ObisDefinition[] }) {
  const numeric = catalog.filter((d) => d.valueType === 'number');
  const [code, setCode] = useState(DEFAULT_CODE);
  const [rangeMs, setRangeMs] = useState<number>(RANGES[0].ms);
  const [bucket, setBucket] = useState<Bucket>('raw');
  const history = useQuery({
    queryKey: ['history', meterId, code, rangeMs, bucket],
    queryFn: () => {
      const end = new Date();
      const query = {
        obisCode: code,
        startDate: new Date(end.getTime() - rangeMs).toISOString(),
        endDate: end.toISOString(),
        ...(bucket !== 'raw' && { bucket }),
      };
      return call<Page<SeriesPoint | BucketPoint>>(
        api.GET('/api/meters/{id}/obis-readings/history', { params: { path: { id: meterId }, query } }),
      );
    },
    placeholderData: keepPreviousData,
  });
  const def = catalog.find((d) => d.code === code);
  const chart = useMemo(
    () => (history.data ? toChart(history.data.data as SeriesPoint[] | BucketPoint[], bucket) : null),
    [history.data, bucket],
  );
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <form className="row" onSubmit={(e) => e.preventDefault()}>
        <label>
          Quantity
          <select value={code} onChange={(e) => setCode(e.target.value)}>
            {(numeric.length ? numeric : [{ code: DEFAULT_CODE, name: 'Voltage L1', unit: 'V' }]).map((d) => (
              <option key={d.code} value={d.code}>
                {d.name}
                {d.unit ? ` [${d.unit}]` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Range
          <select value={rangeMs} onChange={(e) => setRangeMs(Number(e.target.value))}>
            {RANGES.map((r) => (
              <option key={r.ms} value={r.ms}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Bucket
          <select value={bucket} onChange={(e) => setBucket(e.target.value as Bucket)}>
            {BUCKETS.map((b) => (
              <option key={b} value={b}>
                {b === 'raw' ? 'every read' : b}
              </option>
            ))}
          </select>
        </label>
      </form>
      {history.error && <p role="alert">{history.error.message}</p>}
      {history.data && history.data.pagination.total > history.data.data.length && (
        <p className="muted" data-testid="history-truncated">
          Showing the first {history.data.data.length} of {history.data.pagination.total} values of this
          range: choose a bucket to see all of it.
        </p>
      )}
      {chart && chart.x.length > 0 ? (
        <HistoryChart data={chart} unit={def?.unit ?? null} title={def?.name ?? code} />
      ) : (
        <p className="muted">{history.isLoading ? 'Loading…' : 'No values in this range.'}</p>
      )}
    </section>
  );
}
