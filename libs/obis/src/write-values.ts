import { findObisDefinition } from './catalog';
import { canonicalObisCode } from './obis-code';

export type WriteValue = string | number;

export type WriteValueCheck = { ok: true; code: string; value: WriteValue } | { ok: false; error: string };

/** DLMS double-long-unsigned: the largest threshold a limiter register can carry. */
const MAX_UNSIGNED_32 = 0xffffffff;

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/;

function checkClock(value: unknown): WriteValueCheck | string {
  if (typeof value !== 'string') return 'must be an ISO 8601 date-time string, e.g. 2025-01-31T12:00:00Z';
  const s = value.trim();
  const m = ISO_DATE_TIME.exec(s);
  if (!m) return 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z';
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 8, 9].map(
    (i) => Number(m[i] ?? 0),
  );
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const fieldsValid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 14 &&
    offsetMinutes <= 59;
  const time = Date.parse(s);
  if (!fieldsValid || Number.isNaN(time)) return 'is not a valid date-time';
  return { ok: true, code: '', value: new Date(time).toISOString() };
}

function checkDisconnect(value: unknown): WriteValueCheck | string {
  const normalised = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (normalised === 'connected' || normalised === true || normalised === 1 || normalised === '1') {
    return { ok: true, code: '', value: 'connected' };
  }
  if (normalised === 'disconnected' || normalised === false || normalised === 0 || normalised === '0') {
    return { ok: true, code: '', value: 'disconnected' };
  }
  return "must be 'connected' or 'disconnected'";
}

function checkNonNegativeNumber(value: unknown): WriteValueCheck | string {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n) || n < 0) return 'must be a finite non-negative number';
  if (n > MAX_UNSIGNED_32) return `must not exceed ${MAX_UNSIGNED_32}`;
  return { ok: true, code: '', value: n };
}

/**
 * Checks a value an operator wants to write and returns it in the canonical form sent to the meter
 * (clock: UTC ISO string; disconnect: 'connected' | 'disconnected'; numbers: a number), or a readable
 * error. Read-only and unknown codes are refused here, before any meter is contacted.
 */
export function validateWriteValue(code: string, value: unknown): WriteValueCheck {
  const canonical = canonicalObisCode(code);
  if (canonical === null) return { ok: false, error: `${String(code)} is not an OBIS code` };
  const definition = findObisDefinition(canonical);
  if (!definition) return { ok: false, error: `${canonical} is not in the OBIS catalog` };
  if (definition.access !== 'RW')
    return { ok: false, error: `${canonical} (${definition.name}) is read-only` };

  let result: WriteValueCheck | string;
  if (definition.valueType === 'datetime') result = checkClock(value);
  else if (definition.classId === 70) result = checkDisconnect(value);
  else if (definition.valueType === 'number') result = checkNonNegativeNumber(value);
  else result = `${canonical} (${definition.name}) cannot be written`;

  if (typeof result === 'string') return { ok: false, error: `${definition.name}: value ${result}` };
  return result.ok ? { ok: true, code: canonical, value: result.value } : result;
}
