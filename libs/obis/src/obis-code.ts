/**
 * OBIS code parsing (IEC 62056-6-1). Every code the product stores or compares is in the canonical
 * `A-B:C.D.E.F` form; the other spellings seen in the field are accepted on input only.
 */
export interface ObisParts {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

const FULL = /^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$/;
const DOTTED_SIX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const SHORT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX = /^[0-9a-fA-F]{12}$/;

function fromGroups(groups: (string | undefined)[]): ObisParts | null {
  const [a, b, c, d, e, f] = groups.map((g) => (g === undefined ? 255 : Number(g)));
  const parts = { a, b, c, d, e, f };
  return Object.values(parts).every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? parts : null;
}

/**
 * Parses `1-0:1.8.0.255`, `1-0:1.8.0` (F defaults to 255), `1.0.1.8.0.255`, `0100010800FF` and the short
 * electricity form `1.8.0` (= `1-0:1.8.0.255`). Returns null for anything else.
 */
export function parseObisCode(input: string): ObisParts | null {
  if (typeof input !== 'string') return null;
  const s = input.trim();
  if (s.length === 0 || s.length > 32) return null;
  let m = FULL.exec(s);
  if (m) return fromGroups(m.slice(1));
  m = DOTTED_SIX.exec(s);
  if (m) return fromGroups(m.slice(1));
  m = SHORT.exec(s);
  if (m) return fromGroups(['1', '0', m[1], m[2], m[3], '255']);
  if (HEX.test(s)) {
    const bytes = s.match(/../g)!.map((h) => String(parseInt(h, 16)));
    return fromGroups(bytes);
  }
  return null;
}

export function formatObisCode(p: ObisParts): string {
  return `${p.a}-${p.b}:${p.c}.${p.d}.${p.e}.${p.f}`;
}

/**
 * Every meter read canonicalises each requested and answered code, and a fleet uses a handful of
 * distinct spellings, so results are memoised; the cache is bounded against hostile input.
 */
const CANONICAL_CACHE = new Map<string, string | null>();
const CANONICAL_CACHE_MAX = 4096;

/** The canonical `A-B:C.D.E.F` form of any accepted spelling, or null when the input is not an OBIS code. */
export function canonicalObisCode(input: string): string | null {
  const cached = CANONICAL_CACHE.get(input);
  if (cached !== undefined) return cached;
  const parts = parseObisCode(input);
  const canonical = parts ? formatObisCode(parts) : null;
  if (typeof input === 'string' && input.length <= 32) {
    if (CANONICAL_CACHE.size >= CANONICAL_CACHE_MAX) CANONICAL_CACHE.clear();
    CANONICAL_CACHE.set(input, canonical);
  }
  return canonical;
}

export function isObisCode(input: unknown): input is string {
  return typeof input === 'string' && parseObisCode(input) !== null;
}
