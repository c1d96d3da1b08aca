import { physicalValue } from './scaling';
import { DLMS_UNITS, unitName } from './units';

describe('physicalValue', () => {
  it.each([
    [2301, -1, 230.1],
    [12345, -2, 123.45],
    [5001, -2, 50.01],
    [987, -3, 0.987],
    [23, -1, 2.3],
    [-15, -1, -1.5],
    [12, 3, 12000],
    [7, 0, 7],
    [7, null, 7],
    [230.15, -1, 23.015],
    [1e21, -1, 1e20],
    [1.5e-7, -2, 1.5e-9],
    [0, -3, 0],
  ])('%p × 10^%p = %p, printed without float noise', (raw, scaler, expected) => {
    const value = physicalValue(raw, scaler);
    expect(value).toBe(expected);
    expect(String(value)).toBe(String(expected));
  });

  it('differs from naive multiplication where that is noisy', () => {
    expect(2301 * 10 ** -1).not.toBe(230.1); // 230.10000000000002: the reason for this function
    expect(physicalValue(2301, -1)).toBe(230.1);
  });

  it('rejects non-finite input and non-DLMS scalers; overflows to Infinity', () => {
    expect(physicalValue(NaN, -1)).toBeNaN();
    expect(physicalValue(Infinity, 0)).toBeNaN();
    expect(physicalValue(1, 0.5)).toBeNaN();
    expect(physicalValue(1, 128)).toBeNaN();
    expect(physicalValue(1, -129)).toBeNaN();
    expect(physicalValue(1e300, 100)).toBe(Infinity);
  });
});

describe('units', () => {
  it('maps the IEC 62056-6-2 enumeration', () => {
    expect(DLMS_UNITS[27]).toBe('W');
    expect(DLMS_UNITS[30]).toBe('Wh');
    expect(DLMS_UNITS[33]).toBe('A');
    expect(DLMS_UNITS[35]).toBe('V');
    expect(DLMS_UNITS[44]).toBe('Hz');
    expect(DLMS_UNITS[32]).toBe('varh');
    expect(DLMS_UNITS[56]).toBe('%');
  });

  it.each([
    [30, 'Wh'],
    ['35', 'V'],
    [44, 'Hz'],
    ['wh', 'Wh'],
    ['KWH', 'kWh'],
    ['hz', 'Hz'],
    [' V ', 'V'],
    ['m3', 'm3'],
    [255, null],
    ['255', null],
    [0, null],
    [999, null],
    [1.5, null],
    ['', null],
    [null, null],
    [undefined, null],
    ['<script>', null],
    ['a very long unit name that is junk', null],
  ])('unitName(%p) = %p', (input, expected) => expect(unitName(input as never)).toBe(expected));
});
