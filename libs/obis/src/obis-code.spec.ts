import { canonicalObisCode, isObisCode } from './obis-code';

describe('canonicalObisCode', () => {
  it.each([
    ['1-0:1.8.0.255', '1-0:1.8.0.255'],
    [' 1-0:32.7.0 ', '1-0:32.7.0.255'],
    ['1.0.1.8.0.255', '1-0:1.8.0.255'],
    ['0100010800FF', '1-0:1.8.0.255'],
    ['1.8.0', '1-0:1.8.0.255'],
    ['0-0:96.1.0.255', '0-0:96.1.0.255'],
  ])('%s → %s', (input, expected) => expect(canonicalObisCode(input)).toBe(expected));

  it.each(['', '1-0:1.8', '1-0:1.8.0.256', 'abc', '1-0:1.8.0.255.1', '1-0-1.8.0.255', '0100010800F'])(
    'rejects %p',
    (input) => {
      expect(canonicalObisCode(input)).toBeNull();
      expect(isObisCode(input)).toBe(false);
    },
  );
});
