/**
 * Live events: published by workers through Redis, delivered by the api's Socket.IO gateway.
 * Names are the seed guide's; the same names and payloads are used by worker, api and tests.
 */
import type { MeterStatus } from './meter';

export const WS_EVENTS = {
  READING_UPDATE: 'meter-reading-update',
  STATUS_CHANGE: 'meter-status-change',
  JOIN_ROOM: 'join-room',
  LEAVE_ROOM: 'leave-room',
} as const;

export const ROOMS = {
  fleet: 'meters',
  meter: (meterId: string) => `meter-${meterId}`,
  area: (areaId: string) => `area-${areaId}`,
} as const;

export type ReadingType = 'scheduled' | 'on-demand';
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
