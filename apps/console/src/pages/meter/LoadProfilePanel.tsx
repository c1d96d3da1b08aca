import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api, call } from '../../api/client';
import type { Completeness, LoadProfile, LoadProfileEntry, Ok, ProfileFlag } from '../../api/types';
import { HistoryChart, type ChartSeries } from '../../components/HistoryChart';
import { formatTime, formatValue } from '../../format';

const RANGES = [
  { label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
  { label: 'Last 31 days', ms: 31 * 24 * 3_600_000 },
] as const;
/** Rows of the entries table (newest first); the chart and the CSV have the whole range. */
const TABLE_ROWS = 24;
/** Flagged intervals listed at most (a meter flagging every interval would otherwise list thousands). */
const FLAGGED_ROWS = 50;
const LINE_COLORS = ['#1f5fbf', '#b3261e', '#2e7d32', '#6a3d9a'];

export const FLAG_LABELS: Record<ProfileFlag, string> = {
  powerDown: 'power failure',
  clockAdjusted: 'clock adjusted',
  dataNotValid: 'data not valid',
  clockInvalid: 'clock invalid',
  daylightSaving: 'daylight saving',
  criticalError: 'critical error',
};

type Show = 'interval' | 'register';

const formatPeriod = (s: number) => (s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/**
 * Per OBIS code, the energy of each interval (register difference from the entry one capture period
 * before; none across a gap) or the register itself.
 */
function toChart(profile: LoadProfile, show: Show): ChartSeries {
  const periodMs = (profile.capturePeriodSec ?? 0) * 1000;
  const times = profile.entries.map((e) => new Date(e.timestamp).getTime());
  const lines = profile.captureObjects.map((o, i) => ({
    label: `${o.obisCode} [${o.unit}]`,
    color: LINE_COLORS[i % LINE_COLORS.length]!,
    values: profile.entries.map((e, k) => {
      const v = e.values[o.obisCode]?.value ?? null;
      if (show === 'register' || v === null) return v;
      const prev = k > 0 ? profile.entries[k - 1]!.values[o.obisCode]?.value : null;
      if (prev === null || prev === undefined || times[k]! - times[k - 1]! !== periodMs) return null;
      return Number((v - prev).toFixed(6));
    }),
  }));
  return { x: times.map((t) => t / 1000), lines };
}

function Flags({ entry }: { entry: LoadProfileEntry }) {
  if (entry.flags.length === 0) return <span className="muted">—</span>;
  return (
    <>
      {entry.flags.map((f) => (
        <span key={f} className={`flag flag-${f}`} data-flag={f}>
          {FLAG_LABELS[f]}
        </span>
      ))}
    </>
  );
}

/** Saves a text as a file: the api wants a bearer token, so a plain link could not fetch it. */
function saveText(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // Some browsers read the blob after click() returns.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The meter's load profile over a chosen range: completeness, a chart, the latest entries, a CSV. */
export function LoadProfilePanel({ meterId, meterNumber }: { meterId: string; meterNumber: string }) {
  const [rangeMs, setRangeMs] = useState<number>(RANGES[1].ms);
  // The range is fixed when chosen (or refreshed), so the profile, its completeness and the CSV agree.
  const [to, setTo] = useState(() => new Date());
  const [show, setShow] = useState<Show>('interval');
  const [csvError, setCsvError] = useState<string | null>(null);
  const range = { from: new Date(to.getTime() - rangeMs).toISOString(), to: to.toISOString() };

  const profile = useQuery({
    queryKey: ['load-profile', meterId, range.from, range.to],
    queryFn: () =>
      call<Ok<LoadProfile>>(
        api.GET('/api/meters/{id}/load-profile', { params: { path: { id: meterId }, query: range } }),
      ),
    placeholderData: keepPreviousData,
  });
  const completeness = useQuery({
    queryKey: ['load-profile-completeness', meterId, range.from, range.to],
    queryFn: () =>
      call<Ok<Completeness>>(
        api.GET('/api/meters/{id}/load-profile/completeness', {
          params: { path: { id: meterId }, query: range },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const p = profile.data?.data;
  const c = completeness.data?.data;
  const chart = useMemo(() => (p && p.entries.length > 0 ? toChart(p, show) : null), [p, show]);
  const latest = useMemo(() => (p ? p.entries.slice(-TABLE_ROWS).reverse() : []), [p]);
  const flagged = useMemo(() => (p ? p.entries.filter((e) => e.flags.length > 0) : []), [p]);
  const csvQuery = new URLSearchParams({ ...range, format: 'csv' });
  const csvHref = `/api/meters/${encodeURIComponent(meterId)}/load-profile?${csvQuery.toString()}`;

  const downloadCsv = async () => {
    setCsvError(null);
    try {
      const { data, error, response } = await api.GET('/api/meters/{id}/load-profile', {
        params: { path: { id: meterId }, query: { ...range, format: 'csv' } },
        parseAs: 'text',
      });
      if (!response.ok || typeof data !== 'string') {
        throw new Error((error as { message?: string } | undefined)?.message ?? `${response.status}`);
      }
      saveText(data, `${meterNumber}-load-profile.csv`, 'text/csv');
    } catch (err) {
      setCsvError(`CSV download failed: ${(err as Error).message}`);
    }
  };

  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Load profile</h2>
      <form className="row" onSubmit={(e) => e.preventDefault()}>
        <label>
          Profile range
          <select
            value={rangeMs}
            onChange={(e) => {
              setRangeMs(Number(e.target.value));
              setTo(new Date());
            }}
          >
            {RANGES.map((r) => (
              <option key={r.ms} value={r.ms}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Chart
          <select value={show} onChange={(e) => setShow(e.target.value as Show)}>
            <option value="interval">energy per interval</option>
            <option value="register">register values</option>
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => setTo(new Date())}>
          Refresh
        </button>
        <a
          href={csvHref}
          download={`${meterNumber}-load-profile.csv`}
          onClick={(e) => {
            e.preventDefault();
            void downloadCsv();
          }}
        >
          Download CSV
        </a>
      </form>
      <p className="muted" data-testid="profile-range">
        <time dateTime={range.from}>{formatTime(range.from)}</time> –{' '}
        <time dateTime={range.to}>{formatTime(range.to)}</time>
        {p?.capturePeriodSec ? <> · one entry every {formatPeriod(p.capturePeriodSec)}</> : null}
      </p>
      {csvError && <p role="alert">{csvError}</p>}
      {(profile.error ?? completeness.error) && (
        <p role="alert">{(profile.error ?? completeness.error)!.message}</p>
      )}
      {c && (
        <dl className="tiles" aria-label="Completeness of the range" data-testid="profile-completeness">
          <div className="tile">
            <dt>Expected</dt>
            <dd data-testid="profile-expected">{c.expected}</dd>
          </div>
          <div className="tile">
            <dt>Collected</dt>
            <dd data-testid="profile-collected">{c.collected}</dd>
          </div>
          <div className="tile">
            <dt>Missing</dt>
            <dd data-testid="profile-missing">{c.missing}</dd>
          </div>
        </dl>
      )}
      {p?.truncated && (
        <p className="muted" data-testid="profile-truncated">
          This range holds more than {p.entries.length} entries: the first {p.entries.length} are shown;
          choose a shorter range.
        </p>
      )}
      {chart && p ? (
        <HistoryChart
          data={chart}
          unit={p.captureObjects[0]?.unit ?? null}
          title={show === 'interval' ? 'Energy per interval' : 'Energy registers'}
          testId="profile-chart"
        />
      ) : (
        <p className="muted">{profile.isLoading ? 'Loading…' : 'No load profile entries in this range.'}</p>
      )}

      <h3>Flagged intervals</h3>
      {flagged.length === 0 ? (
        <p className="muted" data-testid="profile-flagged-none">
          No entry of this range carries a status flag.
        </p>
      ) : (
        <ul data-testid="profile-flagged">
          {flagged.slice(-FLAGGED_ROWS).map((e) => (
            <li key={e.timestamp} data-timestamp={e.timestamp}>
              <time dateTime={e.timestamp}>{formatTime(e.timestamp)}</time> <Flags entry={e} />
            </li>
          ))}
        </ul>
      )}

      {p && p.entries.length > 0 && (
        <>
          <h3>Latest entries</h3>
          <p className="muted">
            The latest {latest.length} of {p.entries.length} entries of the range, newest first.
          </p>
          <table data-testid="profile-entries">
            <thead>
              <tr>
                <th scope="col">Interval end</th>
                {p.captureObjects.map((o) => (
                  <th key={o.obisCode} scope="col" className="num">
                    <code>{o.obisCode}</code>
                  </th>
                ))}
                <th scope="col" className="num">
                  Status
                </th>
                <th scope="col">Flags</th>
              </tr>
            </thead>
            <tbody>
              {latest.map((e) => (
                <tr key={e.timestamp} data-timestamp={e.timestamp}>
                  <td>
                    <time dateTime={e.timestamp}>{formatTime(e.timestamp)}</time>
                  </td>
                  {p.captureObjects.map((o) => (
                    <td key={o.obisCode} className="num" data-obis={o.obisCode}>
                      {formatValue(e.values[o.obisCode]?.value ?? null, e.values[o.obisCode]?.unit ?? o.unit)}
                    </td>
                  ))}
                  <td className="num">
                    <code>0x{e.status.toString(16).padStart(2, '0')}</code>
                  </td>
                  <td data-testid="entry-flags">
                    <Flags entry={e} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
