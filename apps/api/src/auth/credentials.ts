import type { IncomingHttpHeaders } from 'node:http';

/** Every API key starts with this, so a leaked key is recognisable (secret scanners, logs review). */
export const API_KEY_PREFIX = 'hes_';

/** Longest credential looked at (a JWT of ours is ~250 characters, a key 47). */
const MAX_CREDENTIAL_LENGTH = 2048;

export function isApiKeySecret(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

export type CredentialResult = { credential: string } | { missing: true } | { malformed: string };

/**
 * The caller's credential from HTTP headers: `Authorization: Bearer <token or key>` or `X-API-Key: <key>`.
 * Both at once is refused as ambiguous.
 */
export function credentialFromHeaders(headers: IncomingHttpHeaders): CredentialResult {
  const authorization = headers.authorization;
  const apiKeyHeader = headers['x-api-key'];
  if (authorization !== undefined && apiKeyHeader !== undefined) {
    return { malformed: 'Send either Authorization or X-API-Key, not both' };
  }
  if (apiKeyHeader !== undefined) {
    const key = Array.isArray(apiKeyHeader) ? undefined : apiKeyHeader.trim();
    if (!key || key.length > MAX_CREDENTIAL_LENGTH || !isApiKeySecret(key)) {
      return { malformed: `Malformed X-API-Key header (expected a key starting with "${API_KEY_PREFIX}")` };
    }
    return { credential: key };
  }
  if (authorization === undefined) return { missing: true };
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match || match[1].length > MAX_CREDENTIAL_LENGTH) {
    return { malformed: 'Malformed Authorization header (expected "Bearer <token>")' };
  }
  return { credential: match[1] };
}
