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
}

export interface WriteCommandPayload {
  meterId: string;
  /** meter_commands row created by the api before enqueueing (audit record). */
  commandId: string;
  obisCode: string;
  value: string | number | boolean;
  requestedBy: string;
}
