import { ServiceUnavailableException } from '@nestjs/common';

/** The parts of the system the api cannot answer without. */
export type Dependency = 'database' | 'redis';

/**
 * 503 naming what is missing: `{ success: false, message: 'database unavailable', error: 'Service
 * Unavailable' }`. Thrown by readiness checks, and what the exception filter answers for an outage error.
 */
export class DependencyUnavailableException extends ServiceUnavailableException {
  constructor(
    readonly dependencies: readonly Dependency[],
    readonly reasons: string[] = [],
  ) {
    super(`${dependencies.join(' and ')} unavailable`);
  }
}

/**
 * SQLSTATE classes/codes that mean "the server is going away or not accepting connections": class 08
 * (connection exception), 57P01 admin shutdown (a fast restart), 57P02 crash shutdown, 57P03 cannot
 * connect now (starting up or shutting down), 53300 too many connections.
 */
const PG_UNAVAILABLE_CODE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/** pg's own errors when a connection dies or cannot be had (pg and pg-pool messages, stable for years). */
const PG_UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|Connection terminated due to connection timeout/;

/** ioredis / BullMQ errors of a connection that is down, reconnecting or closed. */
const REDIS_UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries per request limit|Command timed out|connection is closing/i;

/** Node socket errors: which dependency they concern is told by the port they were aimed at. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export interface DependencyPorts {
  database?: number;
  redis?: number;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  port?: unknown;
  syscall?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Which dependency an error says is unavailable, if any. Looks through `cause` (Drizzle wraps pg errors)
 * and AggregateError's `errors` (a refused connection to localhost tries ::1 and 127.0.0.1).
 */
export function unavailableDependency(
  err: unknown,
  ports: DependencyPorts = {},
  depth = 0,
): Dependency | null {
  if (!err || typeof err !== 'object' || depth > 5) return null;
  const e = err as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (PG_UNAVAILABLE_CODE.test(code) || PG_UNAVAILABLE_MESSAGE.test(message)) return 'database';
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_UNAVAILABLE_MESSAGE.test(message)) return 'redis';
  if (SOCKET_ERROR_CODES.has(code)) {
    const port = typeof e.port === 'number' ? e.port : undefined;
    if (port !== undefined && port === ports.redis) return 'redis';
    if (port !== undefined && port === ports.database) return 'database';
    // A connection that breaks while a statement runs reaches pg's caller as the bare socket error
    // (`read ECONNRESET`, no address). ioredis and BullMQ never hand those to a command's caller (it gets
    // "Connection is closed" or MaxRetriesPerRequestError), and the api talks to nothing else: PostgreSQL.
    if (port === undefined && (e.syscall === 'read' || e.syscall === 'write')) return 'database';
  }
  const nested = [e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  for (const inner of nested) {
    const found = unavailableDependency(inner, ports, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Ports of DATABASE_URL and REDIS_URL, to tell which one a refused connection was aimed at. */
export function dependencyPorts(databaseUrl: string, redisUrl: string): DependencyPorts {
  const port = (url: string, fallback: number) => {
    try {
      return Number(new URL(url).port || fallback);
    } catch {
      return undefined;
    }
  };
  return { database: port(databaseUrl, 5432), redis: port(redisUrl, 6379) };
}
