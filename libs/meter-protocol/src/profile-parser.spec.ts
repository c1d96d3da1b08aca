import { parseProfileBody } from './profile-parser';

const answer = (over: Record<string, unknown> = {}) => ({
  profile: '1-0:99.1.0.255',
  capturePeriodSec: 900,
  captureObjects: [
    { obisCode: '1.8.0', unit: 'Wh', scaler: 0 },
    { obisCode: '1-0:2.8.0.255', unit: 'Wh', scaler: 0 },
  ],
  entries: [
    ['2026-11-30T00:15:00+01:00', 1000, 0, 0],
    ['2026-11-29T23:30:00Z', 1010, 'x', 128],
  ],
  more: true,
  ...over,
});

describe('profile answer parsing', () => {
  it('reads timestamps with an offset as UTC instants, canonical codes, raw values and status', () => {
    const parsed = parseProfileBody(answer(), '1-0:99.1.0.255');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.page.captureObjects.map((o) => o.obisCode)).toEqual(['1-0:1.8.0.255', '1-0:2.8.0.255']);
    expect(parsed.page.entries).toEqual([
      { capturedAt: Date.parse('2026-11-29T23:15:00Z'), values: [1000, 0], status: 0 },
      { capturedAt: Date.parse('2026-11-29T23:30:00Z'), values: [1010, null], status: 128 },
    ]);
    expect(parsed.page.more).toBe(true);
  });

  it.each([
    ['another profile', answer({ profile: '1-0:99.2.0.255' }), /is for/],
    ['no period', answer({ capturePeriodSec: 0 }), /capturePeriodSec/],
    [
      'more than 96 entries',
      answer({ entries: Array(97).fill(['2026-11-30T00:00:00Z', 1, 2, 0]) }),
      /more than 96/,
    ],
    ['an entry of the wrong width', answer({ entries: [['2026-11-30T00:00:00Z', 1, 0]] }), /width/],
    ['a timestamp without offset', answer({ entries: [['2026-11-30T00:00:00', 1, 2, 0]] }), /offset/],
    ['no status word', answer({ entries: [['2026-11-30T00:00:00Z', 1, 2, -1]] }), /status/],
    ['no more', answer({ more: 'yes' }), /more/],
  ])('refuses %s', (_, body, reason) => {
    const parsed = parseProfileBody(body, '1-0:99.1.0.255');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});
