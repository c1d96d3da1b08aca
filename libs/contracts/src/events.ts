/**
 * Live events: published by workers through Redis, delivered by the api's Socket.IO gateway.
 * Names are the seed guide's; the same names and payloads are used by worker, api and tests.
 */
import type { MeterStatus } from './meter';

export const WS_EVENTS = {
  READING_UPDATE: 'meter-reading-update',
  STATUS_CHANGE: 'meter-status-change',
  ALARM: 'meter-alarm',
  JOIN_ROOM: 'join-room',
  LEAVE_ROOM: 'leave-room',
} as const;

export const ROOMS = {
  fleet: 'meters',
  meter: (meterId: string) => `meter-${meterId}`,
  area: (areaId: string) => `area-${areaId}`,
} as const;

/** `push`: sent by the meter itself (POST /push/readings, or the seed's data-ingestion route). */
export type ReadingType = 'scheduled' | 'on-demand' | 'push';
export type CommunicationStatus = 'success' | 'partial' | 'failed';
export type ReadingQuality = 'good' | 'questionable' | 'error';

export interface ObisReadingValue {
  obisCode: string;
  name: string | null;
  /** What the meter sent (number or string), before scaling. */
  rawValue: number | string | null;
  scaler: number | null;
  unit: string | null;
  /** rawValue × 10^scaler for numbers; the string itself for clock/serial; null when unusable. */
  value: number | string | null;
  quality: ReadingQuality;
}

export interface MeterReadingUpdateEvent {
  meterId: string;
  meterNumber: string;
  readingType: ReadingType;
  communicationStatus: CommunicationStatus;
  readings: ObisReadingValue[];
  responseTime: number;
  timestamp: string;
}

export interface MeterStatusChangeEvent {
  meterId: string;
  meterNumber: string;
  status: MeterStatus;
  previousStatus: MeterStatus;
  reason: string;
  lastSeen: string | null;
  timestamp: string;
}

/** After an alarm is raised, acknowledged or cleared: to the meter's, its area's and the fleet room. */
export interface MeterAlarmEvent {
  alarmId: string;
  meterId: string;
  meterNumber: string;
  areaId: string;
  alarm: string;
  severity: import('./push').AlarmSeverity;
  state: import('./push').AlarmState;
  /** The meter's time of the alarm (ISO). */
  raisedAt: string;
  details: Record<string, unknown> | null;
  acknowledgedBy: string | null;
  timestamp: string;
}
