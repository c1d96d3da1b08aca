import { bounded, changedFields, MAX_SUMMARY_BYTES, REDACTED, summarize } from './audit-summary';

describe('audit summaries', () => {
  it('never keep secrets, at any depth', () => {
    const s = summarize({
      username: 'x',
      password: 'hunter22',
      data: { key: 'hes_abc', token: 'eyJ', nested: { apiKey: 'k' } },
    });
    expect(JSON.stringify(s)).not.toMatch(/hunter22|hes_abc|eyJ|"k"/);
    expect(s).toMatchObject({ username: 'x', password: REDACTED, data: { key: REDACTED, token: REDACTED } });
  });

  it('bound strings, arrays and depth', () => {
    const s = summarize({ long: 'x'.repeat(1000), list: Array.from({ length: 50 }, (_, i) => i) }) as {
      long: string;
      list: unknown[];
    };
    expect(s.long.length).toBeLessThanOrEqual(201);
    expect(s.list).toHaveLength(21);
    expect(s.list[20]).toBe('… 30 more');
    expect(summarize({ a: { b: { c: { d: 1 } } } })).toEqual({ a: { b: { c: '…' } } });
    expect(bounded({ big: 'y'.repeat(MAX_SUMMARY_BYTES) })).toMatchObject({ truncated: true });
  });

  it('record only the fields an update changed, old and new', () => {
    expect(
      changedFields(
        { id: '1', status: 'online', firmware: 'a', updatedAt: '2026-01-01' },
        { id: '1', status: 'faulty', firmware: 'a', updatedAt: '2026-01-02' },
      ),
    ).toEqual({ before: { status: 'online' }, after: { status: 'faulty' } });
  });
});
