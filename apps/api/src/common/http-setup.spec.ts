import { hostileInput, MAX_BODY_DEPTH } from './http-setup';

describe('hostile input, refused before any handler', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nested(depth - 1) });

  it('accepts ordinary bodies up to the depth limit', () => {
    expect(hostileInput('/api/meters?search=x', { a: [1, 'two', { b: null }] })).toBeNull();
    expect(hostileInput('/api/x', nested(MAX_BODY_DEPTH))).toBeNull();
  });

  it('refuses bodies nested deeper than the limit, however deep (no recursion)', () => {
    expect(hostileInput('/api/x', nested(MAX_BODY_DEPTH + 1))).toMatch(/nested deeper than 32 levels/);
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(hostileInput('/api/x', deep)).toMatch(/nested deeper/);
  });

  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'])(
    'refuses the reserved property name %p at any depth (the validation pipe would not see it as unknown)',
    (key) => {
      expect(hostileInput('/api/x', JSON.parse(`{"a": [{"${key}": 1}]}`))).toBe(
        `The request body uses the reserved property name "${key}"`,
      );
    },
  );

  it('refuses NUL characters, which PostgreSQL text cannot hold, in values, keys and the URL', () => {
    expect(hostileInput('/api/x', { name: 'a\u0000b' })).toMatch(/NUL character/);
    expect(hostileInput('/api/x', { ['k\u0000']: 1 })).toMatch(/NUL character/);
    expect(hostileInput('/api/meters?search=a%00b', undefined)).toMatch(/URL contains a NUL/);
  });
});
