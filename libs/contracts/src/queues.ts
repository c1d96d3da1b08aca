/**
 * BullMQ queues and jobs shared by the api (producer) and the worker (processor). Defined once here.
 */
export const QUEUES = {
  /** Scheduled polling: slot tick schedulers and the batch poll jobs they fan out. */
  POLL: 'meter-poll',
  /** On-demand commands (read, write); processed ahead of scheduled polls. */
  COMMAND: 'meter-command',
  /** Readings pushed by meters, verified by the api, stored by the workers in shared statements. */
  PUSH: 'meter-push',
  /** Load profile collection (PROFILE_JOBS): scheduled, and back-fill of meters coming back online. */
  PROFILE: 'meter-profile',
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
  /**
   * Clock sync: `value` is replaced by the worker's time at the moment the write is sent (ISO UTC), so the
   * time spent in the queue does not put the clock off again.
   */
  setClockToNow?: boolean;
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
   * invalid-response/too-large → 502; not-allowed → 409), or a command outcome: 'expired' (not started
   * before notAfter) and 'busy' (meter lock held until notAfter) → 503, 'not-found' (deleted) → 404.
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

/** A meter as the poll path sees it (one row of the polling set). */
export interface PolledMeter {
  id: string;
  meterNumber: string;
  ipAddress: string | null;
  port: number | null;
  /** Canonical OBIS codes configured for the meter; null means the defaults. */
  obisCodes: string[] | null;
  areaId: string;
  status: import('./meter').MeterStatus;
  consecutiveFailures: number;
}

/** Job schedulers on QUEUES.POLL: one per slot of the interval (`poll-slot:<s>`) and one for housekeeping. */
export const POLL_SCHEDULERS = {
  SLOT_PREFIX: 'poll-slot:',
  MAINTENANCE: 'poll-maintenance',
} as const;

/** Data of a TICK job (template of the slot's job scheduler). */
export interface PollTickPayload {
  slot: number;
  slotCount: number;
  intervalMs: number;
}

/** Data of a BATCH job: the meters of one slot tick, in chunks. jobId `batch:<slot>:<tickAt>:<chunk>`. */
export interface PollBatchPayload {
  slot: number;
  /** Epoch ms the slot's tick was scheduled for; the interval index is floor(tickAt / intervalMs). */
  tickAt: number;
  intervalMs: number;
  meterIds: string[];
}

/** Bounded retention for every job we add (BullMQ keeps at most this many finished jobs). */
export const JOB_RETENTION = {
  removeOnComplete: { age: 3600, count: 2000 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
} as const;

/**
 * BullMQ root options (connection + key prefix) from REDIS_URL and QUEUE_PREFIX, shared by api and worker:
 * `BullModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => bullRootOptions(
 * c.getOrThrow('REDIS_URL'), c.getOrThrow('QUEUE_PREFIX')) })`. Plain data, so contracts stay dependency-free.
 */
export function bullRootOptions(
  redisUrl: string,
  prefix: string,
): { connection: RedisConnectionOptions; prefix: string } {
  return { connection: redisConnectionOptions(redisUrl), prefix };
}

/** Longest pause between two attempts to reach Redis again. */
export const REDIS_RECONNECT_MAX_DELAY_MS = 2000;

/**
 * ioredis `retryStrategy` of every BullMQ connection: never gives up, retries every ≤ 2 s. BullMQ's own
 * default grows as e^attempts up to 20 s, so after a 20 s outage its queues and workers could stay away
 * for another 20 s once Redis is back.
 */
export function redisRetryStrategy(attempt: number): number {
  return Math.min(attempt * 100, REDIS_RECONNECT_MAX_DELAY_MS);
}

/** The subset of ioredis options a redis:// or rediss:// URL carries, and the reconnection policy. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
  retryStrategy: (attempt: number) => number;
}

export function redisConnectionOptions(redisUrl: string): RedisConnectionOptions {
  const url = new URL(redisUrl);
  const db = Number(url.pathname.replace(/^\//, '') || 0);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 6379),
    db: Number.isInteger(db) ? db : 0,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    retryStrategy: redisRetryStrategy,
  };
}
