/**
 * Load profiles (interval data): the profiles the head-end collects, the DLMS status word of an entry, and
 * the jobs of the profile collection queue (QUEUES.PROFILE). Defined once here for api and worker.
 */

/** Profile OBIS code → the number stored in load_profile_entries.profile (smallint). */
export const LOAD_PROFILES: Readonly<Record<string, number>> = Object.freeze({
  '1-0:99.1.0.255': 1,
  '1-0:99.2.0.255': 2,
});
/** The 15-minute load profile every meter keeps. */
export const LOAD_PROFILE_1 = '1-0:99.1.0.255';

export function loadProfileCode(profile: number): string | undefined {
  return Object.keys(LOAD_PROFILES).find((code) => LOAD_PROFILES[code] === profile);
}

/** DLMS / IDIS AMR profile status bits of an entry. */
export const PROFILE_STATUS_BITS = {
  criticalError: 0x01,
  clockInvalid: 0x02,
  dataNotValid: 0x04,
  daylightSaving: 0x08,
  clockAdjusted: 0x20,
  powerDown: 0x80,
} as const;
export type ProfileStatusFlag = keyof typeof PROFILE_STATUS_BITS;

/** The flags set in a status word, in bit order. */
export function profileStatusFlags(status: number): ProfileStatusFlag[] {
  return (Object.keys(PROFILE_STATUS_BITS) as ProfileStatusFlag[]).filter(
    (flag) => (status & PROFILE_STATUS_BITS[flag]) !== 0,
  );
}

export const PROFILE_JOBS = {
  /** Fired by the job scheduler every PROFILE_READ_INTERVAL: fans out COLLECT jobs for the pollable meters. */
  TICK: 'tick',
  /** Collects the profile of a few meters, from each one's last stored entry to now. */
  COLLECT: 'collect',
  /** Housekeeping: daily partitions of load_profile_entries ahead, retention. */
  MAINTENANCE: 'maintenance',
} as const;

export const PROFILE_SCHEDULERS = {
  TICK: 'profile-collection',
  MAINTENANCE: 'profile-maintenance',
} as const;

/** Why a COLLECT job was added. */
export type ProfileCollectReason = 'scheduled' | 'back-online' | 'continue';

/** Data of a COLLECT job. jobId derived from the tick (scheduled) or the meter and minute (back-online). */
export interface ProfileCollectPayload {
  meterIds: string[];
  reason: ProfileCollectReason;
}

/** Meters per scheduled COLLECT job. */
export const PROFILE_COLLECT_BATCH = 50;
/** One collection reads at most this span per meter; a meter further behind gets a follow-up job. */
export const PROFILE_MAX_SPAN_MS = 7 * 86_400_000;
/** Where the first collection of a meter starts: this far back (the meter keeps 35 days). */
export const PROFILE_FIRST_COLLECTION_MS = 86_400_000;
/** Pages (of ≤ 96 entries) read per meter and job at most; more wait for a follow-up job. */
export const PROFILE_MAX_PAGES_PER_METER = 120;
