import type { ObisReadingValue } from '@app/contracts';
import { clockDrift } from '../polling/read-store';

const read = (clock: unknown, readAt = '2026-11-30T10:00:00.000Z', responseTime = 400) => ({
  readAt,
  responseTime,
  readings: [
    { obisCode: '1-0:1.8.0.255', name: null, rawValue: 1, value: 1, unit: 'Wh', scaler: 0, quality: 'good' },
    {
      obisCode: '0-0:1.0.0.255',
      name: null,
      rawValue: null,
      value: clock as string,
      unit: null,
      scaler: null,
      quality: 'good',
    },
  ] satisfies ObisReadingValue[],
});

describe('clock drift of a read', () => {
  it('is the meter clock minus the middle of the exchange', () => {
    // Read at 10:00:00.000, answered in 400 ms: the meter spoke at about 10:00:00.200.
    expect(clockDrift(read('2026-11-30T12:02:00+02:00'))).toBe(120_000 - 200);
    expect(clockDrift(read('2026-11-30T09:59:50Z'))).toBe(-10_200);
  });

  it('is unknown without a usable clock', () => {
    expect(clockDrift(read('not a time'))).toBeNull();
    expect(clockDrift({ ...read(''), readings: [] })).toBeNull();
  });
});
