import type { ObisReadingValue, ReadingQuality } from '@app/contracts';
import { physicalValue } from '@app/obis';
import type { StoredReadValues } from './schema';

/**
 * The one place that turns read values into their compact stored form and back. The stored form keeps
 * what the meter said (raw value, scaler, unit, quality); the physical value is derived and the name
 * comes from the catalog, which keeps a 17-value poll to a few hundred bytes.
 */
export function encodeReadValues(readings: readonly ObisReadingValue[]): StoredReadValues {
  const stored: StoredReadValues = {};
  for (const r of readings) stored[r.obisCode] = [r.rawValue, r.scaler, r.unit, r.quality];
  return stored;
}

export function decodeReadValues(
  stored: StoredReadValues,
  nameOf: (obisCode: string) => string | null,
): ObisReadingValue[] {
  return Object.entries(stored).map(([obisCode, [rawValue, scaler, unit, quality]]) => ({
    obisCode,
    name: nameOf(obisCode),
    rawValue,
    scaler,
    unit,
    value: physicalOf(rawValue, scaler, quality),
    quality: quality as ReadingQuality,
  }));
}

function physicalOf(
  raw: number | string | null,
  scaler: number | null,
  quality: ReadingQuality,
): number | string | null {
  if (quality === 'error' || raw === null) return null;
  return typeof raw === 'number' ? physicalValue(raw, scaler) : raw;
}
