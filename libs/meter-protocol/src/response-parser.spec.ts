import { DEFAULT_OBIS_CODES } from '@app/obis';
import {
  decodeJsonBody,
  meterQuality,
  parseReadBody,
  parseWriteBody,
  refusalReason,
  requestedObisCodes,
} from './response-parser';

const V1 = '1-0:32.7.0.255';
const E_TOTAL = '1-0:15.8.0.255';
const IMPORT = '1-0:1.8.0.255';
const PF = '1-0:13.7.0.255';
const CLOCK = '0-0:1.0.0.255';
const SERIAL = '0-0:96.1.0.255';
const RELAY = '0-0:96.3.10.255';

function readingsOf(body: unknown, requested: string[]) {
  const parsed = parseReadBody(body, requested);
  if (!parsed.ok) throw new Error(`unexpectedly unusable: ${parsed.reason}`);
  return parsed;
}

describe('requestedObisCodes', () => {
  it('canonicalises and de-duplicates in order', () => {
    expect(requestedObisCodes(['32.7.0', '1-0:32.7.0.255', '0100010800FF', CLOCK])).toEqual([
      V1,
      IMPORT,
      CLOCK,
    ]);
  });
  it('uses the 17 defaults for an empty list', () => {
    expect(requestedObisCodes([])).toEqual([...DEFAULT_OBIS_CODES]);
  });
  it('refuses a code that is not OBIS', () => {
    expect(() => requestedObisCodes(['1-0:32.7.0.255', 'voltage'])).toThrow(/not an OBIS code: voltage/);
  });
});

describe('decodeJsonBody', () => {
  it.each([
    ['', undefined, 'empty response from meter'],
    ['<html><body>Gateway</body></html>', 'text/html', 'response is HTML, not JSON'],
    ['  <!DOCTYPE html>', 'application/json', 'response is HTML, not JSON'],
    ['{"readings": [', 'application/json', 'response is not valid JSON'],
    ['NaN', undefined, 'response is not valid JSON'],
  ])('%p is unusable', (text, type, reason) => {
    expect(decodeJsonBody(Buffer.from(text), type)).toEqual({ ok: false, reason });
  });
  it('parses JSON regardless of the declared type', () => {
    expect(decodeJsonBody(Buffer.from('{"a":1}'), 'text/plain')).toEqual({ ok: true, json: { a: 1 } });
  });
});

describe('parseReadBody, format 1 (readings with scaler)', () => {
  it('scales once, keeps the raw value and scaler, takes the unit from the meter', () => {
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: V1, value: 2301, unit: 'V', scaler: -1, quality: 'good' },
          { obisCode: E_TOTAL, value: 12345, unit: 'kWh', scaler: -2, quality: 'good' },
          { obisCode: '1.8.0', value: 12, unit: 30, scaler: 3 },
          { obisCode: PF, value: 987, unit: 255, scaler: -3, quality: 'good' },
        ],
      },
      [V1, E_TOTAL, IMPORT, PF],
    );
    expect(parsed.communicationStatus).toBe('success');
    expect(parsed.error).toBeUndefined();
    expect(parsed.readings).toEqual([
      {
        obisCode: V1,
        name: 'Voltage L1',
        rawValue: 2301,
        scaler: -1,
        unit: 'V',
        value: 230.1,
        quality: 'good',
      },
      {
        obisCode: E_TOTAL,
        name: 'Total Active Energy',
        rawValue: 12345,
        scaler: -2,
        unit: 'kWh',
        value: 123.45,
        quality: 'good',
      },
      {
        obisCode: IMPORT,
        name: 'Active Energy Import',
        rawValue: 12,
        scaler: 3,
        unit: 'Wh',
        value: 12000,
        quality: 'good',
      },
      {
        obisCode: PF,
        name: 'Power Factor',
        rawValue: 987,
        scaler: -3,
        unit: null,
        value: 0.987,
        quality: 'good',
      },
    ]);
  });

  it('falls back to the catalog unit and treats a missing scaler as none', () => {
    const [reading] = readingsOf({ readings: [{ obisCode: V1, value: 229.8 }] }, [V1]).readings;
    expect(reading).toMatchObject({
      unit: 'V',
      scaler: null,
      value: 229.8,
      rawValue: 229.8,
      quality: 'good',
    });
  });

  it('maps meter quality flags', () => {
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: V1, value: 2301, scaler: -1, quality: 'estimated' },
          { obisCode: IMPORT, value: 5, scaler: 0, quality: 'BAD' },
        ],
      },
      [V1, IMPORT],
    );
    expect(parsed.readings[0]).toMatchObject({ quality: 'questionable', value: 230.1 });
    expect(parsed.readings[1]).toMatchObject({ quality: 'error', value: null, rawValue: 5 });
    expect(parsed.communicationStatus).toBe('partial');
    expect(parsed.error).toBe(`1 of 2 values unusable: ${IMPORT} flagged as error by the meter`);
  });

  it('records junk as quality error with a short raw value for diagnosis', () => {
    const long = 'x'.repeat(500);
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: V1, value: 'abc', scaler: -1 },
          { obisCode: E_TOTAL, value: long },
          { obisCode: IMPORT, value: { nested: 1 } },
          { obisCode: PF, value: 1, scaler: 1.5 },
          { obisCode: '1-0:14.7.0.255', value: '50.01' },
        ],
      },
      [V1, E_TOTAL, IMPORT, PF, '1-0:14.7.0.255'],
    );
    expect(parsed.communicationStatus).toBe('failed');
    expect(parsed.readings.map((r) => [r.value, r.rawValue, r.quality])).toEqual([
      [null, 'abc', 'error'],
      [null, null, 'error'],
      [null, null, 'error'],
      [null, 1, 'error'],
      [null, '50.01', 'error'],
    ]);
    expect(parsed.error).toMatch(/^no usable values: 1-0:32.7.0.255 a string where a number was expected; /);
    expect(parsed.readings[3].obisCode).toBe(PF);
    expect(parsed.error).toContain(`${PF} invalid scaler`);
  });

  it('marks missing codes as errors, ignores unrequested and duplicate entries', () => {
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: V1, value: 2301, scaler: -1 },
          { obisCode: V1, value: 9999, scaler: -1 },
          { obisCode: '1-0:99.9.9.255', value: 1 },
          { obisCode: 'not-a-code', value: 1 },
          'junk',
        ],
      },
      [V1, IMPORT],
    );
    expect(parsed.readings).toHaveLength(2);
    expect(parsed.readings[0].value).toBe(230.1);
    expect(parsed.readings[1]).toEqual({
      obisCode: IMPORT,
      name: 'Active Energy Import',
      rawValue: null,
      scaler: null,
      unit: 'Wh',
      value: null,
      quality: 'error',
    });
    expect(parsed.error).toBe(`1 of 2 values unusable: ${IMPORT} missing`);
  });

  it('accepts text only where text belongs; ignores a scaler on text', () => {
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: CLOCK, value: '2025-01-31T12:00:00Z', scaler: -1 },
          { obisCode: SERIAL, value: 'LGZ1234567' },
          { obisCode: RELAY, value: 1 },
        ],
      },
      [CLOCK, SERIAL, RELAY],
    );
    expect(parsed.readings).toEqual([
      {
        obisCode: CLOCK,
        name: 'Clock',
        rawValue: '2025-01-31T12:00:00Z',
        scaler: null,
        unit: null,
        value: '2025-01-31T12:00:00Z',
        quality: 'good',
      },
      {
        obisCode: SERIAL,
        name: 'Meter Serial Number',
        rawValue: 'LGZ1234567',
        scaler: null,
        unit: null,
        value: 'LGZ1234567',
        quality: 'good',
      },
      {
        obisCode: RELAY,
        name: 'Disconnect Control',
        rawValue: 1,
        scaler: null,
        unit: null,
        value: 'connected',
        quality: 'good',
      },
    ]);
  });

  it('refuses a clock that is not a date and an unknown relay state', () => {
    const parsed = readingsOf(
      {
        readings: [
          { obisCode: CLOCK, value: 'yesterday' },
          { obisCode: RELAY, value: 'open' },
        ],
      },
      [CLOCK, RELAY],
    );
    expect(parsed.readings.map((r) => [r.quality, r.rawValue])).toEqual([
      ['error', 'yesterday'],
      ['error', 'open'],
    ]);
  });

  it('keeps unknown numeric codes without a name', () => {
    const [reading] = readingsOf(
      { readings: [{ obisCode: '1-0:99.9.9.255', value: 5, scaler: -1, unit: 'V' }] },
      ['1-0:99.9.9.255'],
    ).readings;
    expect(reading).toMatchObject({ name: null, value: 0.5, unit: 'V' });
  });

  it('refuses a readings field that is not a list', () => {
    expect(parseReadBody({ readings: 'none' }, [V1])).toEqual({
      ok: false,
      reason: 'response "readings" is not a list',
    });
  });
});

describe('parseReadBody, format 2 (flat, already physical)', () => {
  it('never scales a flat value; name and unit from the catalog', () => {
    const parsed = readingsOf(
      {
        '1-0:32.7.0.255': 230.1,
        '1.8.0': 12345,
        [PF]: 0.98,
        [CLOCK]: '2025-01-31T12:00:00Z',
        [SERIAL]: 'SN-1',
        '1-0:52.7.0.255': 231,
      },
      [V1, IMPORT, PF, CLOCK, SERIAL],
    );
    expect(parsed.communicationStatus).toBe('success');
    expect(parsed.readings.map((r) => [r.obisCode, r.name, r.value, r.scaler, r.unit, r.quality])).toEqual([
      [V1, 'Voltage L1', 230.1, null, 'V', 'good'],
      [IMPORT, 'Active Energy Import', 12345, null, 'Wh', 'good'],
      [PF, 'Power Factor', 0.98, null, null, 'good'],
      [CLOCK, 'Clock', '2025-01-31T12:00:00Z', null, null, 'good'],
      [SERIAL, 'Meter Serial Number', 'SN-1', null, null, 'good'],
    ]);
  });

  it('flags junk, strings for numeric codes and missing codes', () => {
    const parsed = readingsOf({ [V1]: 'N/A', [IMPORT]: null, [CLOCK]: 12 }, [V1, IMPORT, CLOCK, PF]);
    expect(parsed.communicationStatus).toBe('failed');
    expect(parsed.readings.every((r) => r.quality === 'error' && r.value === null)).toBe(true);
    expect(parsed.error).toContain(`${PF} missing`);
  });

  it('an empty object is a read with nothing usable', () => {
    expect(readingsOf({}, [V1]).communicationStatus).toBe('failed');
  });

  it('an object without any OBIS key is not a meter answer', () => {
    expect(parseReadBody({ success: false, message: 'unknown meter M9' }, [V1])).toEqual({
      ok: false,
      reason: 'meter answered without readings: unknown meter M9',
    });
    expect(parseReadBody({ foo: 1 }, [V1])).toEqual({ ok: false, reason: 'response has no readings' });
    expect(parseReadBody([1, 2], [V1])).toEqual({ ok: false, reason: 'response is not a JSON object' });
    expect(parseReadBody(null, [V1])).toEqual({ ok: false, reason: 'response is not a JSON object' });
  });
});

describe('meterQuality', () => {
  it.each([
    [undefined, 'good'],
    ['good', 'good'],
    ['OK', 'good'],
    ['questionable', 'questionable'],
    ['estimated', 'questionable'],
    ['error', 'error'],
    ['invalid', 'error'],
    [3, 'questionable'],
  ])('%p → %p', (q, expected) => expect(meterQuality(q)).toBe(expected));
});

describe('write answers', () => {
  it('parses success and refusal', () => {
    expect(parseWriteBody({ success: true, previousValue: 'connected' })).toEqual({
      ok: true,
      success: true,
      previousValue: 'connected',
    });
    expect(parseWriteBody({ success: false, message: 'relay locked' })).toEqual({
      ok: true,
      success: false,
      error: 'relay locked',
    });
    expect(parseWriteBody({ done: true })).toEqual({
      ok: false,
      reason: 'write response has no "success" flag',
    });
  });

  it('extracts a refusal reason from JSON or short text, not from HTML', () => {
    expect(refusalReason(Buffer.from('{"success":false,"error":"read-only"}'), 'application/json')).toBe(
      'read-only',
    );
    expect(refusalReason(Buffer.from('value out of range'), 'text/plain')).toBe('value out of range');
    expect(refusalReason(Buffer.from('<html>nope</html>'), 'text/html')).toBeUndefined();
  });
});
