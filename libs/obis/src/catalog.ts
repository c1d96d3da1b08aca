import { canonicalObisCode } from './obis-code';
import { DEFAULT_OBIS_CODES } from './defaults';

export type ObisAccess = 'R' | 'RW';
export type ObisValueType = 'number' | 'string' | 'datetime' | 'enum';

/** One catalog entry; mirrors the obis_catalog table (code, name, unit, default scaler, class, access). */
export interface ObisDefinition {
  /** Canonical `A-B:C.D.E.F`. */
  code: string;
  name: string;
  /** Unit symbol (see DLMS_UNITS); null for unitless values, dates and text. */
  unit: string | null;
  /** The scaler meters typically use for this register; informative, never applied to a flat value. */
  defaultScaler: number | null;
  /** COSEM interface class: 1 data, 3 register, 8 clock, 70 disconnect control, 71 limiter. */
  classId: number;
  /** The COSEM attribute read or written (2 = value for data/register/clock). */
  attribute: number;
  access: ObisAccess;
  valueType: ObisValueType;
  /** One of the seed guide's 17 default codes. */
  isDefault: boolean;
  /** For valueType 'enum': the values, in the order of their numeric DLMS encoding. */
  enumValues?: readonly string[];
  description?: string;
}

type Entry = Omit<ObisDefinition, 'isDefault' | 'attribute'> & { attribute?: number };

const register = (
  code: string,
  name: string,
  unit: string | null,
  defaultScaler: number,
  description: string,
) =>
  ({ code, name, unit, defaultScaler, classId: 3, access: 'R', valueType: 'number', description }) as Entry;

/** Disconnect control states in control_state order (0 disconnected, 1 connected, 2 ready_for_reconnection). */
export const DISCONNECT_STATES = Object.freeze([
  'disconnected',
  'connected',
  'ready_for_reconnection',
] as const);
export type DisconnectState = (typeof DISCONNECT_STATES)[number];

export const CLOCK_CODE = '0-0:1.0.0.255';
export const SERIAL_NUMBER_CODE = '0-0:96.1.0.255';
export const DISCONNECT_CONTROL_CODE = '0-0:96.3.10.255';
export const LIMITER_THRESHOLD_CODE = '0-0:17.0.0.255';

const ENTRIES: Entry[] = [
  // The seed guide's 17 defaults (names exactly as the guide).
  register('1-0:15.8.0.255', 'Total Active Energy', 'Wh', 0, 'Active energy absolute (|A+| + |A−|), total'),
  register('1-0:1.8.0.255', 'Active Energy Import', 'Wh', 0, 'Active energy import (A+), total'),
  register('1-0:2.8.0.255', 'Active Energy Export', 'Wh', 0, 'Active energy export (A−), total'),
  register('1-0:32.7.0.255', 'Voltage L1', 'V', -1, 'Instantaneous voltage, phase L1'),
  register('1-0:52.7.0.255', 'Voltage L2', 'V', -1, 'Instantaneous voltage, phase L2'),
  register('1-0:72.7.0.255', 'Voltage L3', 'V', -1, 'Instantaneous voltage, phase L3'),
  register('1-0:31.7.0.255', 'Current L1', 'A', -2, 'Instantaneous current, phase L1'),
  register('1-0:51.7.0.255', 'Current L2', 'A', -2, 'Instantaneous current, phase L2'),
  register('1-0:71.7.0.255', 'Current L3', 'A', -2, 'Instantaneous current, phase L3'),
  register('1-0:1.7.0.255', 'Total Active Power', 'W', 0, 'Instantaneous active power import (A+)'),
  register('1-0:21.7.0.255', 'Active Power L1', 'W', 0, 'Instantaneous active power import, phase L1'),
  register('1-0:41.7.0.255', 'Active Power L2', 'W', 0, 'Instantaneous active power import, phase L2'),
  register('1-0:61.7.0.255', 'Active Power L3', 'W', 0, 'Instantaneous active power import, phase L3'),
  register('1-0:14.7.0.255', 'Frequency', 'Hz', -2, 'Supply frequency'),
  register('1-0:13.7.0.255', 'Power Factor', null, -3, 'Instantaneous power factor (unitless)'),
  {
    code: CLOCK_CODE,
    name: 'Clock',
    unit: null,
    defaultScaler: null,
    classId: 8,
    access: 'RW',
    valueType: 'datetime',
    description: 'Meter clock (class 8, attribute 2), ISO 8601 date-time',
  },
  {
    code: SERIAL_NUMBER_CODE,
    name: 'Meter Serial Number',
    unit: null,
    defaultScaler: null,
    classId: 1,
    access: 'R',
    valueType: 'string',
    description: 'Device identifier 1 (manufacturer serial number)',
  },
  // Writable control objects.
  {
    code: DISCONNECT_CONTROL_CODE,
    name: 'Disconnect Control',
    unit: null,
    defaultScaler: null,
    classId: 70,
    attribute: 3,
    access: 'RW',
    valueType: 'enum',
    enumValues: DISCONNECT_STATES,
    description:
      'Supply relay (class 70, control_state). Written as connected/disconnected, which the meter ' +
      'carries out through remote_reconnect/remote_disconnect',
  },
  {
    code: LIMITER_THRESHOLD_CODE,
    name: 'Load Limiter Threshold',
    unit: 'W',
    defaultScaler: 0,
    classId: 71,
    attribute: 4,
    access: 'RW',
    valueType: 'number',
    description: 'Limiter (class 71) normal threshold on active power',
  },
  // A few more read-only registers worth having.
  register('1-0:1.8.1.255', 'Active Energy Import Tariff 1', 'Wh', 0, 'Active energy import (A+), tariff 1'),
  register('1-0:1.8.2.255', 'Active Energy Import Tariff 2', 'Wh', 0, 'Active energy import (A+), tariff 2'),
  register('1-0:3.8.0.255', 'Reactive Energy Import', 'varh', 0, 'Reactive energy import (R+), total'),
  register('1-0:4.8.0.255', 'Reactive Energy Export', 'varh', 0, 'Reactive energy export (R−), total'),
  register('1-0:3.7.0.255', 'Total Reactive Power Import', 'var', 0, 'Instantaneous reactive power (R+)'),
  register('1-0:4.7.0.255', 'Total Reactive Power Export', 'var', 0, 'Instantaneous reactive power (R−)'),
];

const DEFAULTS = new Set(DEFAULT_OBIS_CODES);

export const OBIS_CATALOG: readonly ObisDefinition[] = Object.freeze(
  ENTRIES.map(
    (e): ObisDefinition =>
      Object.freeze({ attribute: 2, ...e, isDefault: DEFAULTS.has(e.code) }) as ObisDefinition,
  ),
);

const BY_CODE: ReadonlyMap<string, ObisDefinition> = new Map(OBIS_CATALOG.map((d) => [d.code, d]));

/** The catalog entry for any accepted spelling of a code (`1.8.0`, `0100010800FF`, …), or undefined. */
export function findObisDefinition(code: string): ObisDefinition | undefined {
  const exact = BY_CODE.get(code);
  if (exact) return exact;
  const canonical = canonicalObisCode(code);
  return canonical === null ? undefined : BY_CODE.get(canonical);
}

/** True only for codes the catalog marks RW; unknown codes are not writable. */
export function isWritable(code: string): boolean {
  return findObisDefinition(code)?.access === 'RW';
}
