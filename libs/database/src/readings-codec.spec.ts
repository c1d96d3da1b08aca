import type { ObisReadingValue } from '@app/contracts';
import { decodeReadValues, encodeReadValues, readLayoutFingerprint } from './readings-codec';

describe('readings codec', () => {
  it('round-trips values and derives physical values without float noise', () => {
    const readings: ObisReadingValue[] = [
      {
        obisCode: '1-0:32.7.0.255',
        name: 'Voltage L1',
        rawValue: 2301,
        scaler: -1,
        unit: 'V',
        value: 230.1,
        quality: 'good',
      },
      {
        obisCode: '1-0:31.7.0.255',
        name: 'Current L1',
        rawValue: 1234,
        scaler: -3,
        unit: 'A',
        value: 1.234,
        quality: 'good',
      },
      {
        obisCode: '1-0:1.8.0.255',
        name: 'Active Energy Import',
        rawValue: 5.5,
        scaler: 3,
        unit: 'Wh',
        value: 5500,
        quality: 'good',
      },
      {
        obisCode: '0-0:96.1.0.255',
        name: 'Meter Serial Number',
        rawValue: 'MTR-1',
        scaler: null,
        unit: null,
        value: 'MTR-1',
        quality: 'good',
      },
      {
        obisCode: '1-0:14.7.0.255',
        name: 'Frequency',
        rawValue: 'junk',
        scaler: -2,
        unit: 'Hz',
        value: null,
        quality: 'error',
      },
    ];
    const names = new Map(readings.map((r) => [r.obisCode, r.name]));
    const stored = encodeReadValues(readings)!;
    // Through JSON, as PostgreSQL gives it back.
    const { layout, raw, qualities } = JSON.parse(JSON.stringify(stored)) as typeof stored;
    expect(decodeReadValues(layout, raw, qualities, (c) => names.get(c) ?? null)).toEqual(readings);
  });

  it('stores codes, scalers and units once per layout and only the raw values per read', () => {
    const read = (voltage: number, quality: ObisReadingValue['quality'] = 'good'): ObisReadingValue[] => [
      {
        obisCode: '1-0:32.7.0.255',
        name: null,
        rawValue: voltage,
        scaler: -1,
        unit: 'V',
        value: null,
        quality,
      },
      {
        obisCode: '0-0:96.1.0.255',
        name: null,
        rawValue: 'MTR-1',
        scaler: null,
        unit: null,
        value: null,
        quality: 'good',
      },
    ];
    const a = encodeReadValues(read(2301))!;
    const b = encodeReadValues(read(2299, 'questionable'))!;
    expect(a.layout).toEqual({
      codes: ['1-0:32.7.0.255', '0-0:96.1.0.255'],
      scalers: [-1, null],
      units: ['V', null],
    });
    expect(a.raw).toEqual([2301, 'MTR-1']);
    expect(b.raw).toEqual([2299, 'MTR-1']);
    // All good: no qualities at all; otherwise only the exceptions, by index.
    expect(a.qualities).toBeNull();
    expect(b.qualities).toEqual({ 0: 'questionable' });
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a different layout when a code, scaler, unit or the order differs', () => {
    const base = { codes: ['1-0:32.7.0.255', '1-0:31.7.0.255'], scalers: [-1, -3], units: ['V', 'A'] };
    const fingerprints = [
      base,
      { ...base, codes: ['1-0:32.7.0.255', '1-0:51.7.0.255'] },
      { ...base, scalers: [-1, -2] },
      { ...base, scalers: [-1, null] },
      { ...base, units: ['V', 'mA'] },
      { codes: [...base.codes].reverse(), scalers: [-3, -1], units: ['A', 'V'] },
    ].map(readLayoutFingerprint);
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
  });

  it('stores nothing for a read without values, and decodes that to no readings', () => {
    expect(encodeReadValues([])).toBeNull();
    expect(decodeReadValues(null, null, null, () => null)).toEqual([]);
  });
});
