import { validateWriteValue } from './write-values';

describe('validateWriteValue', () => {
  it.each([
    ['0-0:1.0.0.255', '2025-01-31T12:00:00Z', '2025-01-31T12:00:00.000Z'],
    ['0-0:1.0.0.255', '2025-01-31T14:30:05.250+02:00', '2025-01-31T12:30:05.250Z'],
    ['0.0.1.0.0.255', '2024-02-29T00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0-0:96.3.10.255', 'connected', 'connected'],
    ['0-0:96.3.10.255', ' Disconnected ', 'disconnected'],
    ['0-0:96.3.10.255', true, 'connected'],
    ['0-0:96.3.10.255', false, 'disconnected'],
    ['0-0:96.3.10.255', 1, 'connected'],
    ['0-0:96.3.10.255', '0', 'disconnected'],
    ['0-0:17.0.0.255', 5000, 5000],
    ['0-0:17.0.0.255', '7500.5', 7500.5],
    ['0-0:17.0.0.255', 0, 0],
  ])('%s accepts %p as %p', (code, value, expected) => {
    const result = validateWriteValue(code, value);
    expect(result).toEqual({ ok: true, code: expect.stringMatching(/^\d+-\d+:/), value: expected });
  });

  it('returns the canonical code', () => {
    expect(validateWriteValue('0.0.96.3.10.255', 'connected')).toEqual({
      ok: true,
      code: '0-0:96.3.10.255',
      value: 'connected',
    });
  });

  it.each([
    ['0-0:1.0.0.255', '2025-01-31', /ISO 8601/],
    ['0-0:1.0.0.255', '2025-01-31T12:00:00', /time zone/],
    ['0-0:1.0.0.255', '2025-02-30T12:00:00Z', /not a valid date-time/],
    ['0-0:1.0.0.255', '2025-01-31T24:00:00Z', /not a valid date-time/],
    ['0-0:1.0.0.255', 1738324800000, /ISO 8601/],
    ['0-0:96.3.10.255', 'ready_for_reconnection', /connected' or 'disconnected/],
    ['0-0:96.3.10.255', 2, /connected' or 'disconnected/],
    ['0-0:96.3.10.255', 'on', /connected' or 'disconnected/],
    ['0-0:17.0.0.255', -1, /non-negative/],
    ['0-0:17.0.0.255', Infinity, /non-negative/],
    ['0-0:17.0.0.255', '12abc', /non-negative/],
    ['0-0:17.0.0.255', true, /non-negative/],
    ['0-0:17.0.0.255', 5e9, /exceed/],
    ['1-0:1.8.0.255', 0, /Active Energy Import\) is read-only/],
    ['0-0:96.1.0.255', 'X', /read-only/],
    ['1-0:99.1.0.255', 1, /not in the OBIS catalog/],
    ['hello', 1, /not an OBIS code/],
  ])('%s refuses %p', (code, value, message) => {
    const result = validateWriteValue(code, value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});
