/**
 * BullMQ queues and jobs shared by the api (producer) and the worker (processor). Defined once here.
 */
export const QUEUES = {
  /** Scheduled polling: slot tick schedulers and the batch poll jobs they fan out. */
  POLL: 'meter-poll',
  /** On-demand commands (read, write); processed ahead of scheduled polls. */
  COMMAND: 'meter-command',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const COMMAND_JOBS = {
  READ: 'read',
  WRITE: 'write',
} as const;

export interface ReadCommandPayload {
  meterId: string;
  /** Canonical OBIS codes; absent means the meter's configured set or the defaults. */
  obisCodes?: string[];
  requestedBy: string;
  /** meter_commands row (command_type read) created by the api before enqueueing; the worker completes it. */
  commandId?: string;
  /** Epoch ms: the worker must not start talking to the meter after this (the api has stopped waiting). */
  notAfter?: number;
}

export interface WriteCommandPayload {
  meterId: string;
  /** meter_commands row created by the api before enqueueing (audit record). */
  commandId: string;
  obisCode: string;
  value: string | number | boolean;
  requestedBy: string;
  /** Epoch ms: the worker must not start the write after this; a stale write is never sent. */
  notAfter?: number;
}

export const POLL_JOBS = {
  /** Fired by one job scheduler per slot of the interval; fans out BATCH jobs for the slot's meters. */
  TICK: 'tick',
  /** Reads a batch of meters concurrently, each with its own deadline. */
  BATCH: 'batch',
  /** Housekeeping: creates upcoming daily partitions and drops expired ones. */
  MAINTENANCE: 'maintenance',
} as const;

/** Result of a read command, returned by the worker as the job's return value. */
export interface ReadCommandResult {
  meterId: string;
  meterNumber: string;
  communicationStatus: import('./events').CommunicationStatus;
  readings: import('./events').ObisReadingValue[];
  responseTime: number;
  /** ISO time of the stored read record. */
  readAt?: string;
  /** Set when the meter could not be read: why (timeout, refused, HTTP 500, …). */
  error?: string;
  /**
   * Set on failure: a MeterFailureKind (timeout/refused/reset/network → api 504; http-error/
   * invalid-response/too-large → 502; not-allowed → 409), or 'expired' (not started before notAfter → 503).
   */
  failureKind?: string;
}

/** Result of a write command, returned by the worker as the job's return value. */
export interface WriteCommandResult {
  success: boolean;
  obisCode: string;
  value: string | number | boolean;
  previousValue?: string | number | boolean | null;
  responseTime: number;
  error?: string;
  /** HTTP status the meter answered with when it refused (4xx), or the failure kind when unreachable. */
  meterStatusCode?: number;
  failureKind?: string;
}
