import { decodePushedReadings } from './push-readings';
import { SeedIngestionDto, seedPushBody } from './seed-ingestion';

describe('decoding a pushed read', () => {
  const now = Date.parse('2026-01-30T12:00:00Z');
  const timestamp = '2026-01-30T11:59:30Z';

  it('decodes format 1 like a polled answer (scalers, units)', () => {
    const decoded = decodePushedReadings(
      {
        meterNumber: 'M-1',
        timestamp,
        readings: [
          { obisCode: '1-0:32.7.0.255', value: 2301, unit: 'V', scaler: -1 },
          { obisCode: '1.0.15.8.0.255', value: 5, unit: 'kWh', scaler: 3 },
        ],
      },
      now,
    );
    expect(decoded).toMatchObject({ ok: true, communicationStatus: 'success', readAt: new Date(timestamp) });
    if (!decoded.ok) throw new Error('not decoded');
    expect(decoded.readings.map((r) => [r.obisCode, r.value])).toEqual([
      ['1-0:32.7.0.255', 230.1],
      ['1-0:15.8.0.255', 5000],
    ]);
  });

  it('decodes format 2 (codes as keys) and refuses keys that are not OBIS codes', () => {
    const ok = decodePushedReadings({ meterNumber: 'M-1', timestamp, '1-0:14.7.0.255': 50 }, now);
    expect(ok).toMatchObject({ ok: true, communicationStatus: 'success' });
    const bad = decodePushedReadings({ meterNumber: 'M-1', timestamp, voltage: 230 }, now);
    expect(bad).toEqual({ ok: false, problems: expect.arrayContaining([expect.stringMatching(/voltage/)]) });
  });

  it('refuses timestamps that are not ISO, in the future or older than a day, and empty pushes', () => {
    const problems = (body: Record<string, unknown>) => {
      const d = decodePushedReadings({ meterNumber: 'M-1', '1-0:14.7.0.255': 50, ...body }, now);
      return d.ok ? [] : d.problems;
    };
    expect(problems({ timestamp: 'now' })).toEqual(['timestamp must be an ISO 8601 date-time']);
    expect(problems({ timestamp: '2026-01-30T12:10:00Z' })).toEqual(['timestamp is in the future']);
    expect(problems({ timestamp: '2026-01-29T11:00:00Z' })).toEqual(['timestamp is more than 24 hours old']);
    const empty = decodePushedReadings({ meterNumber: 'M-1', timestamp, readings: [] }, now);
    expect(empty.ok).toBe(false);
  });

  it('marks a push partial when some of its values are unusable', () => {
    const decoded = decodePushedReadings(
      { meterNumber: 'M-1', timestamp, '1-0:14.7.0.255': 50, '1-0:32.7.0.255': 'high' },
      now,
    );
    expect(decoded).toMatchObject({ ok: true, communicationStatus: 'partial' });
  });
});

describe("the seed system's named readings", () => {
  it('map to OBIS codes in the catalog units (kWh → Wh, kW → W)', () => {
    const dto = Object.assign(new SeedIngestionDto(), {
      meterNumber: 'MTR-1',
      timestamp: '2026-01-30T11:59:30Z',
      authentication: 'x',
      readings: {
        totalEnergy: 12.5,
        voltage: 231,
        current: 4.2,
        power: 0.9,
        frequency: 50,
        powerFactor: 0.97,
      },
    });
    const body = seedPushBody(dto)!;
    const decoded = decodePushedReadings(body, Date.parse('2026-01-30T12:00:00Z'));
    if (!decoded.ok) throw new Error(decoded.problems.join('; '));
    expect(Object.fromEntries(decoded.readings.map((r) => [r.obisCode, [r.value, r.unit]]))).toEqual({
      '1-0:15.8.0.255': [12500, 'Wh'],
      '1-0:32.7.0.255': [231, 'V'],
      '1-0:31.7.0.255': [4.2, 'A'],
      '1-0:1.7.0.255': [900, 'W'],
      '1-0:14.7.0.255': [50, 'Hz'],
      '1-0:13.7.0.255': [0.97, null],
    });
    expect(
      seedPushBody(Object.assign(new SeedIngestionDto(), { meterNumber: 'M', timestamp: 't' })),
    ).toBeNull();
  });
});
