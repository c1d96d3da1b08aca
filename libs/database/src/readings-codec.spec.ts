import type { ObisReadingValue } from '@app/contracts';
import { decodeReadValues, encodeReadValues } from './readings-codec';

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
    expect(decodeReadValues(encodeReadValues(readings), (c) => names.get(c) ?? null)).toEqual(readings);
  });
});
