/**
 * DLMS/COSEM physical units (IEC 62056-6-2, enumeration used by register class 3, attribute 3).
 * Symbols, not names, because that is what operators and charts show.
 */
export const DLMS_UNITS: Readonly<Record<number, string>> = Object.freeze({
  1: 'a',
  2: 'mo',
  3: 'wk',
  4: 'd',
  5: 'h',
  6: 'min',
  7: 's',
  8: '°',
  9: '°C',
  10: 'currency',
  11: 'm',
  12: 'm/s',
  13: 'm³',
  14: 'm³',
  15: 'm³/h',
  16: 'm³/h',
  17: 'm³/d',
  18: 'm³/d',
  19: 'l',
  20: 'kg',
  21: 'N',
  22: 'Nm',
  23: 'Pa',
  24: 'bar',
  25: 'J',
  26: 'J/h',
  27: 'W',
  28: 'VA',
  29: 'var',
  30: 'Wh',
  31: 'VAh',
  32: 'varh',
  33: 'A',
  34: 'C',
  35: 'V',
  36: 'V/m',
  37: 'F',
  38: 'Ω',
  39: 'Ωm²/m',
  40: 'Wb',
  41: 'T',
  42: 'A/m',
  43: 'H',
  44: 'Hz',
  45: '1/(Wh)',
  46: '1/(varh)',
  47: '1/(VAh)',
  48: 'V²h',
  49: 'A²h',
  50: 'kg/s',
  51: 'S',
  52: 'K',
  53: '1/(V²h)',
  54: '1/(A²h)',
  55: '1/m³',
  56: '%',
  57: 'Ah',
  254: 'other',
  255: 'count',
});

/** Enumeration value meaning "no unit" (a count or a ratio such as the power factor). */
export const DLMS_UNIT_NONE = 255;

const MAX_UNIT_LENGTH = 16;

/** Case-insensitive spellings meters send for the usual units, mapped to their canonical symbol. */
const UNIT_SPELLINGS: ReadonlyMap<string, string> = new Map(
  [...Object.values(DLMS_UNITS), 'kW', 'MW', 'kWh', 'MWh', 'kvar', 'kvarh', 'kVA', 'kVAh', 'mA', 'kV'].map(
    (symbol) => [symbol.toLowerCase(), symbol],
  ),
);

/**
 * A unit symbol from either a DLMS unit code (`30`, `'30'`) or a unit name a meter sent (`'wh'`, `'kWh'`).
 * Returns null for "no unit" (255, empty) and for anything that is not a plausible unit, so junk from a
 * meter never reaches storage. Unknown but plausible names (short, printable) are kept as sent.
 */
export function unitName(codeOrName: number | string | null | undefined): string | null {
  if (typeof codeOrName === 'number') {
    if (!Number.isInteger(codeOrName) || codeOrName === DLMS_UNIT_NONE) return null;
    return DLMS_UNITS[codeOrName] ?? null;
  }
  if (typeof codeOrName !== 'string') return null;
  const s = codeOrName.trim();
  if (s.length === 0 || s.length > MAX_UNIT_LENGTH) return null;
  if (/^\d{1,3}$/.test(s)) return unitName(Number(s));
  const known = UNIT_SPELLINGS.get(s.toLowerCase());
  if (known) return known;
  // Printable, no control characters or markup: short free-text units such as "m3" or "imp/kWh".
  return /^[\p{L}\p{N}°%/²³.()\- ]+$/u.test(s) ? s : null;
}
