/**
 * The registers a simulated meter exposes: the seed guide's 17 default codes plus the writable
 * disconnect control and limiter threshold. Each numeric register reads one slot of a meter snapshot
 * (see meter-model.ts), so a read computes every value once and serialises only what was asked for.
 */

// Snapshot slots (indexes into a Float64Array). Raw values: physical = raw × 10^scaler.
export const S_IMPORT = 0;
export const S_EXPORT = 1;
export const S_ABS = 2;
export const S_V1 = 3;
export const S_V2 = 4;
export const S_V3 = 5;
export const S_I1 = 6;
export const S_I2 = 7;
export const S_I3 = 8;
export const S_PT = 9;
export const S_P1 = 10;
export const S_P2 = 11;
export const S_P3 = 12;
export const S_FREQ = 13;
export const S_PF = 14;
export const S_THRESHOLD = 15;
export const S_CLOCK_MS = 16;
export const S_TZ_MIN = 17;
export const S_CONNECTED = 18;
export const S_AT = 19;
export const SNAPSHOT_SIZE = 20;

export type RegisterKind = 'number' | 'clock' | 'serial' | 'disconnect';
export type EnergyUnit = 'Wh' | 'kWh';

export interface RegisterDef {
  code: string;
  name: string;
  kind: RegisterKind;
  slot: number;
  /** Unit as DLMS names it; '' for none (power factor, text, date-time). */
  unit: string;
  scaler: number;
  /** Current registers use the meter's own scaler (−3 or −2). */
  current?: boolean;
  /** Energy registers follow the fleet's energy unit (Wh scaler 0, or kWh scaler −3). */
  energy?: boolean;
  writable: boolean;
}

const num = (code: string, name: string, slot: number, unit: string, scaler: number, extra = {}) =>
  ({ code, name, kind: 'number', slot, unit, scaler, writable: false, ...extra }) as RegisterDef;

export const CLOCK_CODE = '0-0:1.0.0.255';
export const SERIAL_CODE = '0-0:96.1.0.255';
export const DISCONNECT_CODE = '0-0:96.3.10.255';
export const THRESHOLD_CODE = '0-0:17.0.0.255';

export const REGISTERS: readonly RegisterDef[] = [
  num('1-0:15.8.0.255', 'total active energy (absolute)', S_ABS, 'Wh', 0, { energy: true }),
  num('1-0:1.8.0.255', 'active energy import', S_IMPORT, 'Wh', 0, { energy: true }),
  num('1-0:2.8.0.255', 'active energy export', S_EXPORT, 'Wh', 0, { energy: true }),
  num('1-0:32.7.0.255', 'voltage L1', S_V1, 'V', -1),
  num('1-0:52.7.0.255', 'voltage L2', S_V2, 'V', -1),
  num('1-0:72.7.0.255', 'voltage L3', S_V3, 'V', -1),
  num('1-0:31.7.0.255', 'current L1', S_I1, 'A', -3, { current: true }),
  num('1-0:51.7.0.255', 'current L2', S_I2, 'A', -3, { current: true }),
  num('1-0:71.7.0.255', 'current L3', S_I3, 'A', -3, { current: true }),
  num('1-0:1.7.0.255', 'total active power (import)', S_PT, 'W', 0),
  num('1-0:21.7.0.255', 'active power L1', S_P1, 'W', 0),
  num('1-0:41.7.0.255', 'active power L2', S_P2, 'W', 0),
  num('1-0:61.7.0.255', 'active power L3', S_P3, 'W', 0),
  num('1-0:14.7.0.255', 'supply frequency', S_FREQ, 'Hz', -2),
  num('1-0:13.7.0.255', 'power factor', S_PF, '', -3),
  { code: CLOCK_CODE, name: 'clock', kind: 'clock', slot: S_CLOCK_MS, unit: '', scaler: 0, writable: true },
  {
    code: SERIAL_CODE,
    name: 'serial number',
    kind: 'serial',
    slot: -1,
    unit: '',
    scaler: 0,
    writable: false,
  },
  {
    code: DISCONNECT_CODE,
    name: 'disconnect control',
    kind: 'disconnect',
    slot: S_CONNECTED,
    unit: '',
    scaler: 0,
    writable: true,
  },
  num(THRESHOLD_CODE, 'limiter threshold active', S_THRESHOLD, 'W', 0, { writable: true }),
];

/** The seed guide's 17 default codes, in its order. */
export const DEFAULT_OBIS_CODES: readonly string[] = REGISTERS.slice(0, 17).map((r) => r.code);

export const REGISTER_BY_CODE: ReadonlyMap<string, number> = new Map(REGISTERS.map((r, i) => [r.code, i]));

/**
 * Unit, scaler and precomputed JSON fragments per register for one (current scaler, energy unit)
 * combination; meters share one of four profiles, so the hot path only concatenates strings.
 */
export interface Profile {
  currentScaler: number;
  energyUnit: EnergyUnit;
  unit: string[];
  scaler: number[];
  /** Divisor from raw to physical (10^−scaler) — division keeps decimals exact (2301 / 10 = 230.1). */
  divisor: number[];
  /** Divisor from raw to the catalog unit for the flat format: energy is always Wh there. */
  flatDivisor: number[];
  /** Format 1 text after the value: `,"unit":"V","scaler":-1,"quality":"good"}`. */
  suffix: string[];
}

const profiles = new Map<string, Profile>();

export function getProfile(currentScaler: number, energyUnit: EnergyUnit): Profile {
  const key = `${currentScaler}:${energyUnit}`;
  let p = profiles.get(key);
  if (p) return p;
  const unit: string[] = [];
  const scaler: number[] = [];
  for (const r of REGISTERS) {
    if (r.current) {
      unit.push(r.unit);
      scaler.push(currentScaler);
    } else if (r.energy) {
      // Raw energy is whole Wh either way: kWh with scaler −3 is the same count.
      unit.push(energyUnit);
      scaler.push(energyUnit === 'kWh' ? -3 : 0);
    } else {
      unit.push(r.unit);
      scaler.push(r.scaler);
    }
  }
  const divisor = scaler.map((s) => 10 ** -s);
  const flatDivisor = REGISTERS.map((r, i) => (r.energy ? 1 : divisor[i]));
  const suffix = REGISTERS.map(
    (_, i) => `,"unit":${JSON.stringify(unit[i])},"scaler":${scaler[i]},"quality":"good"}`,
  );
  p = { currentScaler, energyUnit, unit, scaler, divisor, flatDivisor, suffix };
  profiles.set(key, p);
  return p;
}
