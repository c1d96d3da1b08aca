import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type { Area, ClockDriftReport, FleetCompleteness, Ok, Page } from '../api/types';
import { formatAgo, formatTime } from '../format';
import { Link, navigate, useLocation } from '../router';

export const COMPLETENESS_PATH = '/reports/completeness';
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CLOCK_ROWS = 20;

const utcToday = () => new Date().toISOString().slice(0, 10);

interface Filters {
  /** UTC day YYYY-MM-DD. */
  date: string;
  /** Area id; none: every area the user may see. */
  area?: string;
}

function readFilters(search: string): Filters {
  const q = new URLSearchParams(search);
  const date = q.get('date') ?? '';
  return { date: DAY.test(date) ? date : utcToday(), area: q.get('area') || undefined };
}

/** Filters live in the address, so a report can be reloaded, bookmarked and shared. */
function writeFilters(f: Filters): void {
  const q = new URLSearchParams({ date: f.date });
  if (f.area) q.set('area', f.area);
  navigate(`${COMPLETENESS_PATH}?${q.toString()}`);
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/**
 * The fleet's load profile completeness for a UTC day (the KPI of interval data: meters with every
 * interval, meters with gaps, share of intervals collected, the worst meters) and the meters whose clocks
 * are furthest off. The api limits both to the areas the user may see.
 */
export function CompletenessPage() {
  const { search } = useLocation();
  const filters = readFilters(search);
  const areas = useQuery({
    queryKey: ['areas', 'all'],
    queryFn: () => call<Page<Area>>(api.GET('/api/areas', { params: { query: { page: 1, limit: 100 } } })),
    staleTime: 60_000,
  });
  const report = useQuery({
    queryKey: ['report-completeness', filters.date, filters.area],
    queryFn: () =>
      call<Ok<FleetCompleteness>>(
        api.GET('/api/reports/completeness', {
          params: { query: { date: filters.date, area: filters.area } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const clocks = useQuery({
    queryKey: ['report-clock-drift', filters.area],
    queryFn: () =>
      call<Ok<ClockDriftReport>>(
        api.GET('/api/reports/clock-drift', { params: { query: { area: filters.area, limit: CLOCK_ROWS } } }),
      ),
    placeholderData: keepPreviousData,
  });
  const r = report.data?.data;
  const k = clocks.data?.data;

  return (
    <section>
      <h1>Data completeness</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Report filters">
        <label>
          Day (UTC)
          <input
            type="date"
            value={filters.date}
            max={utcToday()}
            onChange={(e) => DAY.test(e.target.value) && writeFilters({ ...filters, date: e.target.value })}
          />
        </label>
        <label>
          Area
          <select
            value={filters.area ?? ''}
            onChange={(e) => writeFilters({ ...filters, area: e.target.value || undefined })}
          >
            <option value="">all areas</option>
            {areas.data?.data.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.code})
              </option>
            ))}
          </select>
        </label>
      </form>
      {report.error && <p role="alert">{report.error.message}</p>}
      {r && (
        <>
          <p className="muted">
            Load profile intervals of {r.date} (UTC{r.date === utcToday() ? ', so far' : ''}) over the{' '}
            {r.meters} polled meters{filters.area ? ' of the area' : ''}.
          </p>
          <dl className="tiles" aria-label="Completeness of the day" data-testid="completeness-kpi">
            <div className="tile" data-testid="kpi-meters">
              <dt>Meters</dt>
              <dd>{r.meters}</dd>
            </div>
            <div className="tile" data-testid="kpi-complete">
              <dt>Complete</dt>
              <dd>{r.metersComplete}</dd>
            </div>
            <div className="tile" data-testid="kpi-gaps">
              <dt>With gaps</dt>
              <dd>{r.metersWithGaps}</dd>
            </div>
            <div className="tile" data-testid="kpi-share">
              <dt>Intervals collected</dt>
              <dd>{percent(r.shareCollected)}</dd>
            </div>
          </dl>
          <p className="muted" data-testid="kpi-intervals">
            {r.intervalsCollected} of {r.intervalsExpected} intervals collected.
          </p>

          <h2>Meters missing most</h2>
          {r.worst.length === 0 ? (
            <p className="muted">No meter in scope.</p>
          ) : (
            <table data-testid="worst-meters">
              <thead>
                <tr>
                  <th scope="col">Meter</th>
                  <th scope="col" className="num">
                    Expected
                  </th>
                  <th scope="col" className="num">
                    Collected
                  </th>
                  <th scope="col" className="num">
                    Missing
                  </th>
                </tr>
              </thead>
              <tbody>
                {r.worst.map((m) => (
                  <tr key={m.meterId} data-meter-id={m.meterId}>
                    <td>
                      <Link to={`/meters/${m.meterId}`}>{m.meterNumber}</Link>
                    </td>
                    <td className="num">{m.expected}</td>
                    <td className="num">{m.collected}</td>
                    <td className="num" data-testid="worst-missing">
                      {m.missing}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}

      <h2>Meter clocks</h2>
      {clocks.error && <p role="alert">{clocks.error.message}</p>}
      {k && (
        <>
          <p className="muted" data-testid="clock-summary">
            {k.flagged} of {k.checked} checked meters are more than {k.maxDriftSeconds} s off.
          </p>
          {k.meters.length > 0 && (
            <table data-testid="clock-drift">
              <thead>
                <tr>
                  <th scope="col">Meter</th>
                  <th scope="col" className="num">
                    Drift
                  </th>
                  <th scope="col">Checked</th>
                  <th scope="col">Sync requested</th>
                </tr>
              </thead>
              <tbody>
                {k.meters.map((m) => (
                  <tr key={m.meterId} data-meter-id={m.meterId}>
                    <td>
                      <Link to={`/meters/${m.meterId}`}>{m.meterNumber}</Link>
                    </td>
                    <td className="num">
                      {m.driftSeconds > 0 ? '+' : ''}
                      {m.driftSeconds.toFixed(1)} s{m.flagged && <strong className="flag"> off</strong>}
                    </td>
                    <td>{formatAgo(m.checkedAt)}</td>
                    <td>{m.syncRequestedAt ? formatTime(m.syncRequestedAt) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
