import { CommunicationStatus, ObisReadingValue, PUSH_SIGNATURE_MAX_AGE_S } from '@app/contracts';
import { parseReadBody } from '@app/meter-protocol';
import { canonicalObisCode } from '@app/obis';

/** Values in one pushed read (a poll has 17 by default). */
export const PUSH_MAX_VALUES = 200;
/** A pushed read may be this old (a meter sending what it buffered while its link was down). */
export const PUSH_MAX_READ_AGE_MS = 24 * 3600_000;

const ENVELOPE_FIELDS = new Set(['meterNumber', 'timestamp']);

export type DecodedPush =
  | {
      ok: true;
      readAt: Date;
      communicationStatus: CommunicationStatus;
      readings: ObisReadingValue[];
      error?: string;
    }
  | { ok: false; problems: string[] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** When the read was taken: an ISO 8601 date-time within the last 24 h and not ahead of our clock. */
export function pushTimestamp(value: unknown, nowMs = Date.now()): { at: Date } | { problem: string } {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value))) {
    return { problem: 'timestamp must be an ISO 8601 date-time' };
  }
  const at = new Date(value);
  if (at.getTime() > nowMs + PUSH_SIGNATURE_MAX_AGE_S * 1000)
    return { problem: 'timestamp is in the future' };
  if (at.getTime() < nowMs - PUSH_MAX_READ_AGE_MS) return { problem: 'timestamp is more than 24 hours old' };
  return { at };
}

/**
 * A pushed read: `meterNumber`, `timestamp` and the meter's answer in either read format
 * (`readings: [{ obisCode, value, unit?, scaler?, quality? }]`, or OBIS codes as keys). Decoded exactly like
 * a polled answer (scalers, units, qualities), for the codes the meter sent. Anything else is refused.
 */
export function decodePushedReadings(body: unknown, nowMs = Date.now()): DecodedPush {
  if (!isPlainObject(body)) return { ok: false, problems: ['body must be a JSON object'] };
  const problems: string[] = [];
  const when = pushTimestamp(body.timestamp, nowMs);
  if ('problem' in when) problems.push(when.problem);

  const codes: string[] = [];
  const answer: Record<string, unknown> = {};
  if ('readings' in body) {
    for (const key of Object.keys(body)) {
      if (!ENVELOPE_FIELDS.has(key) && key !== 'readings') problems.push(`property ${key} should not exist`);
    }
    if (
      !Array.isArray(body.readings) ||
      body.readings.length === 0 ||
      body.readings.length > PUSH_MAX_VALUES
    ) {
      problems.push(`readings must be a list of 1 to ${PUSH_MAX_VALUES} values`);
    } else {
      body.readings.forEach((entry: unknown, i) => {
        const code =
          isPlainObject(entry) && typeof entry.obisCode === 'string'
            ? canonicalObisCode(entry.obisCode)
            : null;
        if (code === null) problems.push(`readings.${i}.obisCode must be an OBIS code`);
        else codes.push(code);
      });
      answer.readings = body.readings;
    }
  } else {
    for (const [key, value] of Object.entries(body)) {
      if (ENVELOPE_FIELDS.has(key)) continue;
      const code = canonicalObisCode(key);
      if (code === null) problems.push(`property ${key} should not exist (not an OBIS code)`);
      else if (typeof value !== 'number' && typeof value !== 'string')
        problems.push(`${key} must be a number or a string`);
      else {
        codes.push(code);
        answer[key] = value;
      }
    }
    if (codes.length === 0 || codes.length > PUSH_MAX_VALUES) {
      problems.push(`a push carries 1 to ${PUSH_MAX_VALUES} values (readings, or OBIS codes as keys)`);
    }
  }
  if (problems.length > 0 || 'problem' in when) return { ok: false, problems };

  const parsed = parseReadBody(answer, [...new Set(codes)]);
  if (!parsed.ok) return { ok: false, problems: [parsed.reason] };
  return {
    ok: true,
    readAt: when.at,
    communicationStatus: parsed.communicationStatus,
    readings: parsed.readings,
    ...(parsed.error ? { error: parsed.error } : {}),
  };
}
