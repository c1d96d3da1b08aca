import type { CommunicationStatus, ObisReadingValue, ReadingQuality } from '@app/contracts';
import {
  DEFAULT_OBIS_CODES,
  DISCONNECT_STATES,
  canonicalObisCode,
  findObisDefinition,
  isValidScaler,
  physicalValue,
  unitName,
  type ObisDefinition,
} from '@app/obis';
import type { MeterWriteValue } from './types';

/** Longest raw string kept on an unusable value (for diagnosis) and longest accepted text value. */
export const MAX_TEXT_VALUE_LENGTH = 64;
/** How many unusable codes an error message names before summarising. */
const MAX_CODES_IN_MESSAGE = 5;

/**
 * The codes to ask for: canonical, de-duplicated, in the caller's order; the 17 defaults when empty.
 * Throws TypeError on a code that is not OBIS: callers validate configurations before they get here.
 */
export function requestedObisCodes(obisCodes: readonly string[]): string[] {
  if (obisCodes.length === 0) return [...DEFAULT_OBIS_CODES];
  const out = new Set<string>();
  for (const code of obisCodes) {
    const canonical = canonicalObisCode(code);
    if (canonical === null) throw new TypeError(`not an OBIS code: ${String(code)}`);
    out.add(canonical);
  }
  return [...out];
}

/** Result of decoding a body: the JSON value, or why the body is unusable. */
export type DecodedBody = { ok: true; json: unknown } | { ok: false; reason: string };

/** Decodes a meter's answer as JSON; recognises HTML (proxies, captive portals) and empty bodies. */
export function decodeJsonBody(body: Buffer, contentType?: string | null): DecodedBody {
  const text = body.toString('utf8').trim();
  if (text.length === 0) return { ok: false, reason: 'empty response from meter' };
  if (/^text\/html/i.test(contentType ?? '') || text.startsWith('<')) {
    return { ok: false, reason: 'response is HTML, not JSON' };
  }
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'response is not valid JSON' };
  }
}

export type ParsedRead =
  | { ok: true; communicationStatus: CommunicationStatus; readings: ObisReadingValue[]; error?: string }
  | { ok: false; reason: string };

interface Normalised {
  reading: ObisReadingValue;
  /** Why the value is unusable (quality 'error'). */
  problem?: string;
}

const GOOD_QUALITIES = new Set(['good', 'ok', 'valid', 'normal']);
const ERROR_QUALITIES = new Set([
  'error',
  'bad',
  'invalid',
  'fail',
  'failed',
  'failure',
  'fault',
  'missing',
  'unavailable',
  'not available',
  'n/a',
]);

/** The meter's own quality flag: good, error, or (anything else it flags) questionable. */
export function meterQuality(quality: unknown): ReadingQuality {
  if (quality === undefined || quality === null) return 'good';
  if (typeof quality !== 'string') return 'questionable';
  const q = quality.trim().toLowerCase();
  if (q === '' || GOOD_QUALITIES.has(q)) return 'good';
  if (ERROR_QUALITIES.has(q)) return 'error';
  return 'questionable';
}

/** What to keep of an unusable value for diagnosis: short strings and finite numbers only. */
function diagnosticRaw(raw: unknown): number | string | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
  if (typeof raw === 'boolean') return String(raw);
  if (typeof raw === 'string') return raw.length <= MAX_TEXT_VALUE_LENGTH ? raw : null;
  return null;
}

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'string') return raw.length > MAX_TEXT_VALUE_LENGTH ? 'an over-long string' : 'a string';
  if (typeof raw === 'number') return Number.isFinite(raw) ? 'a number' : 'a non-finite number';
  return typeof raw === 'object' ? 'an object' : `a ${typeof raw}`;
}

function isPrintable(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(s);
}

function errorReading(
  code: string,
  def: ObisDefinition | undefined,
  raw: unknown,
  problem: string,
): Normalised {
  return {
    reading: {
      obisCode: code,
      name: def?.name ?? null,
      rawValue: diagnosticRaw(raw),
      scaler: null,
      unit: def?.unit ?? null,
      value: null,
      quality: 'error',
    },
    problem,
  };
}

/** Accepts the text forms a clock, serial number or enum register may carry. */
function textValue(def: ObisDefinition, raw: unknown): { value: string } | { problem: string } {
  if (def.valueType === 'enum') {
    const values = def.enumValues ?? [];
    if (typeof raw === 'string') {
      const match = values.find((v) => v === raw.trim().toLowerCase());
      if (match) return { value: match };
    } else if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw < values.length) {
      return { value: values[raw] };
    } else if (typeof raw === 'boolean' && values === DISCONNECT_STATES) {
      // output_state: true = supply connected.
      return { value: raw ? 'connected' : 'disconnected' };
    }
    return { problem: `${describe(raw)} is not one of ${values.join('/')}` };
  }
  if (def.valueType === 'string' && typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) {
    return { value: String(raw) }; // serial numbers are sometimes sent as numbers
  }
  if (typeof raw !== 'string') return { problem: `${describe(raw)} where text was expected` };
  const s = raw.trim();
  if (s.length === 0 || s.length > MAX_TEXT_VALUE_LENGTH || !isPrintable(s)) {
    return { problem: 'empty, over-long or unprintable text' };
  }
  if (def.valueType === 'datetime' && Number.isNaN(Date.parse(s))) return { problem: 'not a date-time' };
  return { value: s };
}

/**
 * One value as the meter sent it → a stored reading. Format 1 carries a scaler (physical = value ×
 * 10^scaler); a flat (format 2) value is already physical and gets scaler null. Never scales twice.
 */
export function normaliseReading(
  code: string,
  raw: unknown,
  meta: { format: 'readings' | 'flat'; scaler?: unknown; unit?: unknown; quality?: unknown },
): Normalised {
  const def = findObisDefinition(code);
  const flagged = meta.format === 'readings' ? meterQuality(meta.quality) : 'good';

  if (def && def.valueType !== 'number') {
    const text = textValue(def, raw);
    if ('problem' in text) return errorReading(code, def, raw, text.problem);
    const reading: ObisReadingValue = {
      obisCode: code,
      name: def.name,
      rawValue: typeof raw === 'number' || typeof raw === 'string' ? raw : String(raw),
      scaler: null,
      unit: def.unit,
      value: flagged === 'error' ? null : text.value,
      quality: flagged,
    };
    return flagged === 'error' ? { reading, problem: 'flagged as error by the meter' } : { reading };
  }

  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    return errorReading(code, def, raw, `${describe(raw)} where a number was expected`);
  }
  let scaler: number | null = null;
  if (meta.format === 'readings' && meta.scaler !== undefined && meta.scaler !== null) {
    if (!isValidScaler(meta.scaler)) return errorReading(code, def, raw, 'invalid scaler');
    scaler = meta.scaler;
  }
  const value = physicalValue(raw, scaler);
  if (!Number.isFinite(value)) return errorReading(code, def, raw, 'value out of range after scaling');
  const unit =
    (meta.format === 'readings' ? unitName(meta.unit as string | number | null) : null) ?? def?.unit ?? null;
  const reading: ObisReadingValue = {
    obisCode: code,
    name: def?.name ?? null,
    rawValue: raw,
    scaler,
    unit,
    value: flagged === 'error' ? null : value,
    quality: flagged,
  };
  return flagged === 'error' ? { reading, problem: 'flagged as error by the meter' } : { reading };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function meterMessage(body: Record<string, unknown>): string | undefined {
  const m = body.message ?? body.error ?? body.reason;
  return typeof m === 'string' && m.trim() ? m.trim().slice(0, 200) : undefined;
}

/**
 * Interprets a decoded /api/read answer for the requested (canonical) codes: one reading per requested
 * code, in request order; codes the meter added are ignored; missing codes are quality 'error'.
 */
export function parseReadBody(body: unknown, requested: readonly string[]): ParsedRead {
  if (!isPlainObject(body)) return { ok: false, reason: 'response is not a JSON object' };
  const found = new Map<string, Normalised>();
  const wanted = new Set(requested);

  if ('readings' in body) {
    if (!Array.isArray(body.readings)) return { ok: false, reason: 'response "readings" is not a list' };
    for (const entry of body.readings) {
      if (!isPlainObject(entry) || typeof entry.obisCode !== 'string') continue;
      const code = canonicalObisCode(entry.obisCode);
      if (code === null || !wanted.has(code) || found.has(code)) continue;
      found.set(
        code,
        normaliseReading(code, entry.value, {
          format: 'readings',
          scaler: entry.scaler,
          unit: entry.unit,
          quality: entry.quality,
        }),
      );
    }
  } else {
    let sawObisKey = false;
    for (const [key, raw] of Object.entries(body)) {
      const code = canonicalObisCode(key);
      if (code === null) continue;
      sawObisKey = true;
      if (!wanted.has(code) || found.has(code)) continue;
      found.set(code, normaliseReading(code, raw, { format: 'flat' }));
    }
    if (!sawObisKey && Object.keys(body).length > 0) {
      const message = meterMessage(body);
      return {
        ok: false,
        reason: message ? `meter answered without readings: ${message}` : 'response has no readings',
      };
    }
  }

  const problems: string[] = [];
  const readings = requested.map((code) => {
    const n = found.get(code) ?? errorReading(code, findObisDefinition(code), undefined, 'missing');
    if (n.problem) problems.push(`${code} ${n.problem}`);
    return n.reading;
  });
  const unusable = problems.length;
  const communicationStatus: CommunicationStatus =
    unusable === 0 ? 'success' : unusable === requested.length ? 'failed' : 'partial';
  if (unusable === 0) return { ok: true, communicationStatus, readings };
  const listed = problems.slice(0, MAX_CODES_IN_MESSAGE).join('; ');
  const more = unusable > MAX_CODES_IN_MESSAGE ? `; and ${unusable - MAX_CODES_IN_MESSAGE} more` : '';
  const prefix =
    communicationStatus === 'failed'
      ? 'no usable values'
      : `${unusable} of ${requested.length} values unusable`;
  return { ok: true, communicationStatus, readings, error: `${prefix}: ${listed}${more}` };
}

export type ParsedWrite =
  | { ok: true; success: boolean; previousValue?: MeterWriteValue | null; error?: string }
  | { ok: false; reason: string };

function writeValue(v: unknown): MeterWriteValue | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v.length <= MAX_TEXT_VALUE_LENGTH ? v : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v;
  return undefined;
}

/** Interprets a decoded 2xx /api/write answer `{ success, previousValue?, message? }`. */
export function parseWriteBody(body: unknown): ParsedWrite {
  if (!isPlainObject(body) || typeof body.success !== 'boolean') {
    return { ok: false, reason: 'write response has no "success" flag' };
  }
  const previousValue = writeValue(body.previousValue ?? body.oldValue);
  const result: ParsedWrite = { ok: true, success: body.success };
  if (previousValue !== undefined) result.previousValue = previousValue;
  if (!body.success) result.error = meterMessage(body) ?? 'meter refused the write';
  return result;
}

/** The reason a meter gave in an error answer (JSON message/error, or a short plain-text body). */
export function refusalReason(body: Buffer, contentType?: string | null): string | undefined {
  const decoded = decodeJsonBody(body, contentType);
  if (decoded.ok) return isPlainObject(decoded.json) ? meterMessage(decoded.json) : undefined;
  const text = body.toString('utf8').trim();
  if (!text || text.startsWith('<') || !isPrintable(text.replace(/[\r\n\t]/g, ' '))) return undefined;
  return text.slice(0, 200);
}
