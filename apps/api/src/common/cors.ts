/** What the HTTP api and Socket.IO both give their CORS layer. */
export interface CorsSettings {
  origin: string | string[];
  credentials: boolean;
}

/**
 * CORS_ORIGINS read once for HTTP and Socket.IO: a comma-separated list of origins may send credentials;
 * `*` means any origin and then never with credentials (any site could otherwise act with a visitor's
 * cookies). The api authenticates with a bearer header, which needs no credentialed CORS. Unset: no CORS.
 */
export function corsSettings(value: string | undefined): CorsSettings | undefined {
  const origins = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length === 0) return undefined;
  if (origins.includes('*')) return { origin: '*', credentials: false };
  return { origin: origins, credentials: true };
}
