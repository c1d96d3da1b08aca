/** DLMS scalers are signed 8-bit powers of ten. */
export const MIN_SCALER = -128;
export const MAX_SCALER = 127;

export function isValidScaler(scaler: unknown): scaler is number {
  return (
    typeof scaler === 'number' && Number.isInteger(scaler) && scaler >= MIN_SCALER && scaler <= MAX_SCALER
  );
}

/**
 * raw × 10^scaler without binary floating-point noise: the decimal exponent is shifted in the number's
 * shortest decimal text and parsed once, so 2301 with scaler −1 is exactly the double printed as 230.1
 * (2301 * 0.1 would give 230.10000000000002). A null or 0 scaler leaves the value unchanged.
 * Returns NaN when raw is not finite or the scaler is not a DLMS scaler; ±Infinity on overflow.
 */
export function physicalValue(raw: number, scaler: number | null): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return NaN;
  if (scaler === null || scaler === 0) return raw;
  if (!isValidScaler(scaler)) return NaN;
  const text = String(raw);
  const e = text.indexOf('e');
  const mantissa = e === -1 ? text : text.slice(0, e);
  const exponent = (e === -1 ? 0 : Number(text.slice(e + 1))) + scaler;
  return Number(`${mantissa}e${exponent}`);
}
