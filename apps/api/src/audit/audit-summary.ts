/**
 * The bounded, secret-free summaries an audit entry keeps of a request and its result. Pure functions:
 * what goes into the append-only table is decided here, unit-tested without a database.
 */

/** Fields never recorded, whatever their value (matched on the key name, case-insensitive). */
const SECRET_KEY = /(password|secret|token|^key$|apikey|authorization)/i;
export const REDACTED = '[redacted]';
const MAX_STRING = 200;
const MAX_ITEMS = 20;
const MAX_KEYS = 40;
const MAX_DEPTH = 3;
/** An entry's summary larger than this (as JSON) is replaced by a note saying so. */
export const MAX_SUMMARY_BYTES = 8 * 1024;
/** Fields that change on every write and say nothing about what was changed. */
const NOISE = new Set(['updatedAt', 'lastSeen', 'lastLoginAt', 'lastUsedAt', 'meterCount']);

export function summarize(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => summarize(v, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… ${value.length - MAX_ITEMS} more`] : items;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>).slice(0, MAX_KEYS)) {
      out[key] = SECRET_KEY.test(key) ? REDACTED : summarize(v, depth + 1);
    }
    return out;
  }
  return String(value);
}

/** The top-level fields that differ between two views of one object: `{ before, after }` of those only. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const was: Record<string, unknown> = {};
  const now: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (NOISE.has(key)) continue;
    const a = JSON.stringify(summarize(before[key]));
    const b = JSON.stringify(summarize(after[key]));
    if (a === b) continue;
    was[key] = SECRET_KEY.test(key) ? REDACTED : summarize(before[key]);
    now[key] = SECRET_KEY.test(key) ? REDACTED : summarize(after[key]);
  }
  return { before: was, after: now };
}

/** Keeps an entry's summary within MAX_SUMMARY_BYTES. */
export function bounded(summary: Record<string, unknown>): Record<string, unknown> {
  const size = Buffer.byteLength(JSON.stringify(summary), 'utf8');
  return size <= MAX_SUMMARY_BYTES ? summary : { truncated: true, bytes: size };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
