/** Public entry for tests and benchmarks (imported by relative path; never by the api or worker). */
export { startSimulator } from './simulator';
export { parseArgs } from './cli';
export { canonicalObis } from './obis';
export {
  DEFAULT_OBIS_CODES,
  REGISTERS,
  CLOCK_CODE,
  SERIAL_CODE,
  DISCONNECT_CODE,
  THRESHOLD_CODE,
} from './registers';
export { FAULT_MODES } from './faults';
export { signPushBody } from './pusher';
export type { PushCounters } from './pusher';
export type { FaultMode, FaultFractions } from './faults';
export type { ResponseFormat } from './meter-model';
export type * from './types';
export {
  LOAD_PROFILE_CODE,
  PROFILE_MAX_ENTRIES,
  PROFILE_MEMORY_DAYS,
  PROFILE_STATUS,
  DEFAULT_PROFILE_PERIOD_SEC,
} from './load-profile';
