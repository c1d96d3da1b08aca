/**
 * OBIS code spelling for the simulator. Kept local (not from libs/obis) so the simulator stays a standalone
 * tool that can also play a "sloppy" meter: it accepts the short and alternative spellings meters are known
 * to use and answers with the spelling the client asked for.
 */

const FULL = /^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$/;
const DOTTED6 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const SHORT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX = /^[0-9a-fA-F]{12}$/;

function group(s: string | undefined, fallback: number): number | null {
  if (s === undefined) return fallback;
  const n = Number(s);
  return n <= 255 ? n : null;
}

function join(a: number, b: number, c: number, d: number, e: number, f: number): string {
  return `${a}-${b}:${c}.${d}.${e}.${f}`;
}

/**
 * Canonical `A-B:C.D.E.F` form of `code`, or null when it is not an OBIS code. Short forms (`1.8.0`) are
 * electricity codes (`1-0:1.8.0.255`), as the IEC short notation means.
 */
export function canonicalObis(code: string): string | null {
  let m = FULL.exec(code);
  if (m) {
    const g = [
      group(m[1], 0),
      group(m[2], 0),
      group(m[3], 0),
      group(m[4], 0),
      group(m[5], 0),
      group(m[6], 255),
    ];
    return g.some((x) => x === null)
      ? null
      : join(...(g as [number, number, number, number, number, number]));
  }
  m = DOTTED6.exec(code);
  if (m) {
    const g = m.slice(1).map((x) => group(x, 0));
    return g.some((x) => x === null)
      ? null
      : join(...(g as [number, number, number, number, number, number]));
  }
  m = SHORT.exec(code);
  if (m) {
    const c = group(m[1], 0);
    const d = group(m[2], 0);
    const e = group(m[3], 0);
    return c === null || d === null || e === null ? null : join(1, 0, c, d, e, 255);
  }
  if (HEX.test(code)) {
    const b = Buffer.from(code, 'hex');
    return join(b[0], b[1], b[2], b[3], b[4], b[5]);
  }
  return null;
}
