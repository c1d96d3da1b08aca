import type { AuditEntry } from '../../api/types';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `field: before → after` for a change; the request and its result or error otherwise. */
export function AuditChanges({ entry }: { entry: AuditEntry }) {
  const c = entry.changes;
  if (!c) return null;
  if (isRecord(c.before) || isRecord(c.after)) {
    const before = isRecord(c.before) ? c.before : {};
    const after = isRecord(c.after) ? c.after : {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return (
      <ul className="changes" data-testid="audit-changes">
        {keys.map((k) => (
          <li key={k}>
            <strong>{k}</strong>: {k in before ? show(before[k]) : '—'}
            {k in after && <> → {show(after[k])}</>}
          </li>
        ))}
      </ul>
    );
  }
  return (
    <details data-testid="audit-changes">
      <summary>{'error' in c ? 'request and error' : 'request and result'}</summary>
      <pre>{JSON.stringify(c, null, 1)}</pre>
    </details>
  );
}
