/**
 * The meter's load profile (`1-0:99.1.0.255`, profile generic): every capture period the clock, the energy
 * registers and a status word. Nothing is stored: an entry is computed from the meter's deterministic model
 * (energyAt) when it is asked for, so 100,000 meters keep 35 days of profile at no memory cost. A
 * power-down records nothing while it lasts and marks the entry after it; a clock setting marks the entry
 * after it. A meter that lost its link (`dead`, `blackhole`) keeps recording: the head-end fills its gap
 * from here later.
 */
import type { SimMeter } from './meter-model';

export const LOAD_PROFILE_CODE = '1-0:99.1.0.255';
/** How far back the meter's memory reaches. */
export const PROFILE_MEMORY_DAYS = 35;
/** Entries per answer at most; `more: true` asks the client to continue from the last timestamp. */
export const PROFILE_MAX_ENTRIES = 96;
export const DEFAULT_PROFILE_PERIOD_SEC = 900;

/** DLMS/IDIS-style status word of a profile entry (AMR profile status). */
export const PROFILE_STATUS = {
  CRITICAL_ERROR: 0x01,
  CLOCK_INVALID: 0x02,
  DATA_NOT_VALID: 0x04,
  DAYLIGHT_SAVING: 0x08,
  CLOCK_ADJUSTED: 0x20,
  POWER_DOWN: 0x80,
} as const;

const DAY_MS = 86_400_000;

export interface ProfilePage {
  /** [ISO UTC timestamp, import Wh, export Wh, status] */
  entries: [string, number, number, number][];
  more: boolean;
}

/** First power-down [start, end) containing `t`, as its end; -1 when the meter was powered at `t`. */
function poweredDownUntil(downs: number[] | null, t: number): number {
  if (downs === null) return -1;
  for (let i = 0; i < downs.length; i += 2) if (downs[i] <= t && t < downs[i + 1]) return downs[i + 1];
  return -1;
}

function anyWithin(list: number[] | null, from: number, to: number): boolean {
  if (list === null) return false;
  for (const t of list) if (t > from && t <= to) return true;
  return false;
}

function powerDownBetween(downs: number[] | null, from: number, to: number): boolean {
  if (downs === null) return false;
  for (let i = 0; i < downs.length; i += 2) if (downs[i] < to && downs[i + 1] > from) return true;
  return false;
}

/**
 * Entries with from ≤ timestamp ≤ to (and not in the future of the meter's clock, nor older than its
 * memory), at most PROFILE_MAX_ENTRIES. Timestamps are capture instants of the meter's clock, whole
 * multiples of the period in UTC.
 */
export function readProfile(
  meter: SimMeter,
  periodMs: number,
  from: number,
  to: number,
  now: number,
): ProfilePage {
  const meterNow = meter.clockAt(now);
  // Timestamps are the meter's clock; energy and power-downs are in true time.
  const skew = meterNow - now;
  const oldest = meterNow - PROFILE_MEMORY_DAYS * DAY_MS;
  const last = Math.min(to, meterNow);
  let t = Math.ceil(Math.max(from, oldest) / periodMs) * periodMs;
  const entries: ProfilePage['entries'] = [];
  while (t <= last) {
    const at = t - skew;
    const upTo = poweredDownUntil(meter.powerDowns, at);
    if (upTo >= 0) {
      if (upTo === Infinity) break;
      const next = Math.ceil((upTo + skew) / periodMs) * periodMs;
      t = next > t ? next : t + periodMs;
      continue;
    }
    if (entries.length === PROFILE_MAX_ENTRIES) return { entries, more: true };
    let status = 0;
    if (powerDownBetween(meter.powerDowns, at - periodMs, at)) status |= PROFILE_STATUS.POWER_DOWN;
    if (anyWithin(meter.clockAdjustments, at - periodMs, at)) status |= PROFILE_STATUS.CLOCK_ADJUSTED;
    const [imp, exp] = meter.energyAt(at);
    entries.push([new Date(t).toISOString(), Math.floor(imp), Math.floor(exp), status]);
    t += periodMs;
  }
  return { entries, more: false };
}
