import {
  isStaleSignature,
  parsePushSignature,
  sameSecret,
  signatureMatches,
  signPush,
} from './push-signature';

describe('push signatures', () => {
  const secret = 'a'.repeat(64);
  const body = Buffer.from('{"meterNumber":"M-1","timestamp":"2026-01-01T00:00:00Z","1-0:1.8.0.255":1}');

  it('accepts the signature of the exact body and refuses any other body or secret', () => {
    const header = signPush(secret, body, 1_800_000_000);
    const sig = parsePushSignature(header)!;
    expect(sig.t).toBe(1_800_000_000);
    expect(signatureMatches(secret, sig, body)).toBe(true);
    expect(signatureMatches(secret, sig, Buffer.from(body.toString().replace('1}', '2}')))).toBe(false);
    expect(signatureMatches('b'.repeat(64), sig, body)).toBe(false);
    // The timestamp is signed too: moving it breaks the signature.
    expect(signatureMatches(secret, { ...sig, t: sig.t + 1 }, body)).toBe(false);
  });

  it('parses only t=<seconds>,v1=<64 hex digits>', () => {
    expect(parsePushSignature(undefined)).toBeNull();
    expect(parsePushSignature(['t=1,v1=' + 'a'.repeat(64)])).toBeNull();
    expect(parsePushSignature('t=1,v1=abc')).toBeNull();
    expect(parsePushSignature('v1=' + 'a'.repeat(64) + ',t=1')).toBeNull();
    expect(parsePushSignature(`t=12,v1=${'0'.repeat(64)}`)).toEqual({ t: 12, v1: '0'.repeat(64) });
  });

  it('is stale beyond 5 minutes either side of our clock', () => {
    const now = 1_800_000_000_000;
    expect(isStaleSignature(now / 1000 - 300, now)).toBe(false);
    expect(isStaleSignature(now / 1000 - 301, now)).toBe(true);
    expect(isStaleSignature(now / 1000 + 301, now)).toBe(true);
  });

  it('compares shared keys of any length', () => {
    expect(sameSecret('key-1234567890abcdef', 'key-1234567890abcdef')).toBe(true);
    expect(sameSecret('key', 'key-1234567890abcdef')).toBe(false);
  });
});
