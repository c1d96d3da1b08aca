import { PUSH_SIGNATURE_MAX_AGE_S } from '@app/contracts';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`, parsed. */
export interface PushSignature {
  t: number;
  v1: string;
}

const HEADER = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

export function parsePushSignature(header: unknown): PushSignature | null {
  if (typeof header !== 'string') return null;
  const m = HEADER.exec(header.trim());
  return m ? { t: Number(m[1]), v1: m[2] } : null;
}

export function pushSignatureHex(secret: string, t: number, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
}

/** The header value a meter sends (tests, benchmarks). */
export function signPush(
  secret: string,
  rawBody: Buffer | string,
  t = Math.floor(Date.now() / 1000),
): string {
  return `t=${t},v1=${pushSignatureHex(secret, t, rawBody)}`;
}

/** Older, or further ahead of our clock, than PUSH_SIGNATURE_MAX_AGE_S. */
export function isStaleSignature(t: number, nowMs = Date.now()): boolean {
  return Math.abs(nowMs / 1000 - t) > PUSH_SIGNATURE_MAX_AGE_S;
}

/** Constant-time comparison of the expected and the given signature. */
export function signatureMatches(secret: string, signature: PushSignature, rawBody: Buffer): boolean {
  const expected = Buffer.from(pushSignatureHex(secret, signature.t, rawBody), 'hex');
  const given = Buffer.from(signature.v1, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Constant-time equality of two strings of any length (the seed route's shared key). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b);
}
