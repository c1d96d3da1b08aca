/**
 * Meter push: readings and alarms sent by the meters themselves to the api's push listener, verified there
 * and handed to the workers through QUEUES.PUSH. Defined once for the api (producer) and the worker.
 */
import type { CommunicationStatus, ObisReadingValue } from './events';

/** Alarms a meter may push; the list is the contract, extend it here (severity below). */
export const METER_ALARMS = [
  'power-failure',
  'power-restored',
  'cover-open',
  'tamper',
  'clock-invalid',
] as const;
export type MeterAlarmKind = (typeof METER_ALARMS)[number];

export const ALARM_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

export const ALARM_STATES = ['open', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export const ALARM_SEVERITY: Record<MeterAlarmKind, AlarmSeverity> = {
  'power-failure': 'critical',
  'power-restored': 'info',
  'cover-open': 'warning',
  tamper: 'critical',
  'clock-invalid': 'warning',
};

/** Header of every push: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`. */
export const PUSH_SIGNATURE_HEADER = 'x-meter-signature';
/** A signature older (or further in the future) than this is refused; replays are remembered as long. */
export const PUSH_SIGNATURE_MAX_AGE_S = 300;

export const PUSH_JOBS = {
  /** Verified pushed reads of one api instance's collection window, stored together. */
  READS: 'reads',
} as const;

/** One verified pushed read, decoded by the api (same form as a polled exchange). */
export interface PushedRead {
  meterId: string;
  meterNumber: string;
  areaId: string;
  /** The meter's timestamp (ISO): the read record's read_at. */
  readAt: string;
  communicationStatus: CommunicationStatus;
  readings: ObisReadingValue[];
  error?: string;
}

/** Data of a PUSH_JOBS.READS job. */
export interface PushReadsPayload {
  reads: PushedRead[];
}
