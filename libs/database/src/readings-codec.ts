import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ObisReadingValue, ReadingQuality } from '@app/contracts';
import { physicalValue } from '@app/obis';
import type { StoredQualities, StoredQuality, StoredRawValue } from './schema';

/** The shape of an answer: codes in answer order and, aligned with them, scalers and units. */
export interface ReadLayout {
  codes: string[];
  scalers: (number | null)[];
  units: (string | null)[];
}

/** A read's values in stored form: a layout (stored once, in read_layouts) and the per-read part. */
export interface EncodedReadValues {
  layout: ReadLayout;
  /** readLayoutFingerprint(layout): the layout's unique key. */
  fingerprint: string;
  /** Raw values aligned with layout.codes. */
  raw: StoredRawValue[];
  /** The qualities that are not 'good' by index; null when all are good (the usual case). */
  qualities: StoredQualities | null;
}

/**
 * The one place that turns read values into their compact stored form and back. A read keeps what the
 * meter said (raw value, scaler, unit, quality) without repeating the codes, scalers and units in every
 * row: those live in the layout, which a meter repeats poll after poll. The physical value is derived and
 * the name comes from the catalog. Null when there is nothing to store (a failed read).
 */
export function encodeReadValues(readings: readonly ObisReadingValue[]): EncodedReadValues | null {
  if (readings.length === 0) return null;
  const layout: ReadLayout = { codes: [], scalers: [], units: [] };
  const raw: StoredRawValue[] = [];
  let qualities: StoredQualities | null = null;
  readings.forEach((r, i) => {
    layout.codes.push(r.obisCode);
    layout.scalers.push(r.scaler);
    layout.units.push(r.unit);
    raw.push(r.rawValue);
    if (r.quality !== 'good') (qualities ??= {})[i] = r.quality;
  });
  return { layout, fingerprint: readLayoutFingerprint(layout), raw, qualities };
}

/**
 * A fleet repeats a handful of layouts read after read: their fingerprints are kept (by layout text) so
 * that a read costs a map lookup, not a sha-256.
 */
const fingerprints = new LRUCache<string, string>({ max: 1000 });

/**
 * Unique key of a layout: sha-256 (hex) of `[codes, scalers, units]` as compact JSON. Migration 0002
 * computes the same text with array_to_json() when it converts older rows, so keep the two in step.
 */
export function readLayoutFingerprint(layout: ReadLayout): string {
  const text = JSON.stringify([layout.codes, layout.scalers, layout.units]);
  let fingerprint = fingerprints.get(text);
  if (fingerprint === undefined) {
    fingerprint = hash('sha256', text, 'hex');
    fingerprints.set(text, fingerprint);
  }
  return fingerprint;
}

/** Stored values back to readings, in layout order; none when the read stored no values. */
export function decodeReadValues(
  layout: ReadLayout | null,
  raw: readonly StoredRawValue[] | null,
  qualities: StoredQualities | null,
  nameOf: (obisCode: string) => string | null,
): ObisReadingValue[] {
  if (!layout || !raw) return [];
  return layout.codes.map((code, i) =>
    decodeReadValue(
      code,
      raw[i] ?? null,
      layout.scalers[i] ?? null,
      layout.units[i] ?? null,
      qualities?.[i] ?? 'good',
      nameOf,
    ),
  );
}

/** One stored value back to a reading (series queries fetch a single code of each read). */
export function decodeReadValue(
  obisCode: string,
  rawValue: StoredRawValue,
  scaler: number | null,
  unit: string | null,
  quality: StoredQuality,
  nameOf: (obisCode: string) => string | null,
): ObisReadingValue {
  return {
    obisCode,
    name: nameOf(obisCode),
    rawValue,
    scaler,
    unit,
    value: physicalOf(rawValue, scaler, quality),
    quality,
  };
}

function physicalOf(
  raw: number | string | null,
  scaler: number | null,
  quality: ReadingQuality,
): number | string | null {
  if (quality === 'error' || raw === null) return null;
  return typeof raw === 'number' ? physicalValue(raw, scaler) : raw;
}
