import { canonicalObisCode } from '@app/obis';

/** One value column of a profile: its code, unit and scaler (physical = raw × 10^scaler). */
export interface ProfileCaptureObject {
  obisCode: string;
  unit: string;
  scaler: number;
}

export interface ProfileEntry {
  /** Capture instant, epoch ms (UTC). */
  capturedAt: number;
  /** Raw values aligned with the capture objects; null where the meter sent no number. */
  values: (number | null)[];
  /** DLMS status word. */
  status: number;
}

export interface ProfilePage {
  profile: string;
  capturePeriodSec: number;
  captureObjects: ProfileCaptureObject[];
  entries: ProfileEntry[];
  more: boolean;
}

/** Entries per answer a meter may send (the protocol's limit); more is a malformed answer. */
export const PROFILE_PAGE_MAX_ENTRIES = 96;
const MAX_CAPTURE_OBJECTS = 32;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

type Parsed = { ok: true; page: ProfilePage } | { ok: false; reason: string };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Validates a profile answer (docs/meter-protocol.md): known shape, at most 96 entries, timestamps with an
 * offset (read as UTC instants), one value per capture object, a whole status word. Anything else is an
 * unusable answer, reported with the reason.
 */
export function parseProfileBody(body: unknown, requestedProfile: string): Parsed {
  if (!isPlainObject(body)) return { ok: false, reason: 'profile answer is not a JSON object' };
  const profile = typeof body.profile === 'string' ? canonicalObisCode(body.profile) : null;
  if (profile !== requestedProfile)
    return { ok: false, reason: `profile answer is for ${String(body.profile)}` };
  const period = body.capturePeriodSec;
  if (typeof period !== 'number' || !Number.isInteger(period) || period < 1 || period > 86_400) {
    return { ok: false, reason: 'profile answer has no usable capturePeriodSec' };
  }
  const objects = body.captureObjects;
  if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_CAPTURE_OBJECTS) {
    return { ok: false, reason: 'profile answer has no usable captureObjects' };
  }
  const captureObjects: ProfileCaptureObject[] = [];
  for (const o of objects) {
    const code = isPlainObject(o) && typeof o.obisCode === 'string' ? canonicalObisCode(o.obisCode) : null;
    if (!isPlainObject(o) || code === null)
      return { ok: false, reason: 'profile capture object without OBIS code' };
    const scaler = typeof o.scaler === 'number' && Number.isInteger(o.scaler) ? o.scaler : 0;
    captureObjects.push({ obisCode: code, unit: typeof o.unit === 'string' ? o.unit : '', scaler });
  }
  if (!Array.isArray(body.entries)) return { ok: false, reason: 'profile answer "entries" is not a list' };
  if (body.entries.length > PROFILE_PAGE_MAX_ENTRIES) {
    return { ok: false, reason: `profile answer has ${body.entries.length} entries, more than 96` };
  }
  const width = captureObjects.length + 2;
  const entries: ProfileEntry[] = [];
  for (const e of body.entries as unknown[]) {
    if (!Array.isArray(e) || e.length !== width)
      return { ok: false, reason: 'profile entry of the wrong width' };
    const [ts, ...rest] = e as unknown[];
    const status = rest.pop();
    if (typeof ts !== 'string' || !ISO_WITH_OFFSET.test(ts) || Number.isNaN(Date.parse(ts))) {
      return { ok: false, reason: 'profile entry without a timestamp with offset' };
    }
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 0xffff) {
      return { ok: false, reason: 'profile entry without a status word' };
    }
    entries.push({
      capturedAt: Date.parse(ts),
      values: rest.map((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null)),
      status,
    });
  }
  if (typeof body.more !== 'boolean') return { ok: false, reason: 'profile answer has no "more"' };
  return { ok: true, page: { profile, capturePeriodSec: period, captureObjects, entries, more: body.more } };
}
