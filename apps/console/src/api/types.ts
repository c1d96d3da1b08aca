/**
 * The shapes the console reads from the api. Requests (paths, parameters, bodies) are typed from the
 * OpenAPI document (schema.d.ts, generated); these describe the `{ success, data }` envelopes until every
 * response is described there, and mirror the api's DTOs (apps/api/src/** /*.dto.ts).
 */
import type {
  CommunicationStatus,
  ObisReadingValue,
  ReadingType,
} from '../../../../libs/contracts/src/events';
import type { components } from './schema';

export type Role = 'admin' | 'operator' | 'viewer';
/** In the order the role pickers offer them, least privileged first. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
export type MeterStatus = 'online' | 'offline' | 'active' | 'warehouse' | 'faulty';
export const METER_STATUSES: readonly MeterStatus[] = ['online', 'offline', 'active', 'warehouse', 'faulty'];

export interface Ok<T> {
  success: true;
  message?: string;
  data: T;
}
export interface Pagination {
  total: number;
  page: number;
  pages: number;
  limit: number;
}
export interface Page<T> {
  success: true;
  data: T[];
  pagination: Pagination;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  isActive: boolean;
  /** The areas the user may see and act on; empty: fleet-wide. */
  areaIds: string[];
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
}
/** Described completely in the document: taken from it. */
export type ApiKey = components['schemas']['ApiKeyDto'];
export type CreatedApiKey = components['schemas']['CreatedApiKeyDto'];
export type AuditEntry = components['schemas']['AuditEntryDto'];
/** The meter list's pages: also whether total is exact, and the keyset cursor of the next page. */
export type MeterPage = {
  success: true;
  data: Meter[];
  pagination: components['schemas']['MeterPaginationDto'];
};
export type AuditPage = {
  success: true;
  data: AuditEntry[];
  pagination: components['schemas']['AuditPaginationDto'];
};

export interface LoginResult {
  token: string;
  user: User;
}

export interface Area {
  id: string;
  name: string;
  code: string;
  description: string | null;
  meterCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface Meter {
  id: string;
  meterNumber: string;
  meterType: string;
  brand: string;
  model: string;
  area: { id: string; name: string; code: string };
  ipAddress: string | null;
  port: number | null;
  status: MeterStatus;
  firmware: string | null;
  obisCodes: string[] | null;
  lastSeen: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface QueueDepths {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}
export interface PollingStatus {
  isPolling: boolean;
  pollingIntervalMs: number;
  activePolls: number;
  maxConcurrentPolls: number;
  onlineMeterCount: number;
  offlineMeterCount: number;
  workers: number;
  queues: { poll: QueueDepths; command: QueueDepths };
  lastInterval: {
    from: string;
    to: string;
    polled: number;
    succeeded: number;
    failed: number;
    responseTimeMs: { p50: number | null; p95: number | null; p99: number | null };
  };
}

export type ObisReading = ObisReadingValue;
export interface LatestReading {
  meterId: string;
  meterNumber: string;
  meterStatus: MeterStatus;
  readAt: string | null;
  readingType: ReadingType | null;
  communicationStatus: CommunicationStatus | null;
  responseTime: number | null;
  readings: ObisReading[];
  lastSeen: string | null;
  lastPollAt: string | null;
  lastError: string | null;
}
export interface SeriesPoint {
  timestamp: string;
  value: number | string | null;
  unit: string | null;
  quality: string;
}
export interface BucketPoint {
  timestamp: string;
  avg: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

export interface ObisDefinition {
  code: string;
  name: string;
  unit: string | null;
  defaultScaler: number | null;
  classId: number;
  attribute: number;
  access: 'R' | 'RW';
  valueType: string;
  isDefault: boolean;
  description: string | null;
}

export interface ReadObisResult {
  meterId: string;
  meterNumber: string;
  communicationStatus: 'success' | 'partial';
  readings: ObisReading[];
  responseTime: number;
  readAt: string;
  error?: string;
  commandId: string;
}
export interface WriteObisResult {
  commandId: string;
  meterId: string;
  meterNumber: string;
  obisCode: string;
  value: string | number | boolean;
  previousValue: string | number | boolean | null;
  responseTime: number;
}
export interface CommandRecord {
  id: string;
  meterId: string;
  meterNumber: string;
  commandType: 'read' | 'write';
  obisCode: string | null;
  oldValue: string | null;
  newValue: string | null;
  status: 'pending' | 'success' | 'failed' | 'rejected';
  error: string | null;
  responseTime: number | null;
  requestedBy: { id: string | null; username: string | null };
  requestedAt: string;
  completedAt: string | null;
}

/**
 * Live events: the types the api and workers publish (libs/contracts, type-only: nothing of it is bundled),
 * so that the console cannot drift from them. The socket events are not part of the OpenAPI document.
 */
export type { MeterReadingUpdateEvent, MeterStatusChangeEvent } from '../../../../libs/contracts/src/events';

/** Load profiles and their reports: these responses are described in the OpenAPI document. */
type Schemas = import('./schema').components['schemas'];
export type LoadProfile = Schemas['LoadProfileDto'];
export type LoadProfileEntry = Schemas['LoadProfileEntryDto'];
export type ProfileFlag = LoadProfileEntry['flags'][number];
export type Completeness = Schemas['CompletenessDto'];
export type FleetCompleteness = Schemas['FleetCompletenessDto'];
export type ClockDriftReport = Schemas['ClockDriftReportDto'];
