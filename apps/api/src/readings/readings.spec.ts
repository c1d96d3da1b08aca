import { historyRange } from './readings.service';

describe('historyRange', () => {
  const now = new Date('2025-03-10T12:00:00Z');

  it('defaults to the 24 hours before endDate (default now)', () => {
    expect(historyRange(undefined, undefined, now)).toEqual({
      start: new Date('2025-03-09T12:00:00Z'),
      end: now,
    });
    expect(historyRange(undefined, '2025-03-01T00:00:00Z', now).start).toEqual(
      new Date('2025-02-28T00:00:00Z'),
    );
  });

  it('accepts up to 31 days and refuses more, reversed ranges and bad dates', () => {
    expect(() => historyRange('2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z', now)).not.toThrow();
    expect(() => historyRange('2025-01-01T00:00:00Z', '2025-02-01T00:00:01Z', now)).toThrow(/31 days/);
    expect(() => historyRange('2025-02-01T00:00:00Z', '2025-01-01T00:00:00Z', now)).toThrow(/after/);
    expect(() => historyRange('nope', undefined, now)).toThrow(/startDate/);
  });
});
