import { DynamicModule, Injectable, Logger, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options as PinoHttpOptions } from 'pino-http';
import { CommonEnv } from './env';

/** What never reaches a log line, wherever it appears in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.jwtSecret',
];

/** Query parameters carrying credentials, masked in logged URLs. */
const SECRET_QUERY_PARAMS = /([?&](?:token|access_token|api_key|apikey|key|secret|password)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[Redacted]');
}

/** An incoming X-Request-Id is kept when it is a plain token of sensible length; otherwise a new one. */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Probes and scrapes every few seconds would drown the request log. */
const QUIET_PATHS = /^\/(?:metrics|api\/health(?:\/live|\/ready)?|health\/(?:live|ready))(?:\?|$)/;

function pinoHttpOptions(env: CommonEnv, app: string): PinoHttpOptions {
  return {
    level: env.LOG_LEVEL,
    base: { app, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    genReqId: requestId,
    autoLogging: { ignore: (req) => QUIET_PATHS.test(req.url ?? '') },
    // An error answer is logged by the exception filter where it happens (with its real stack); the request
    // line only records it. pino-http would attach a made-up error ("failed with status code") to 5xx lines.
    customLogLevel: (_req, res) => (res.statusCode >= 400 ? 'warn' : 'info'),
    customErrorObject: (_req, _res, _err, val: Record<string, unknown>) => ({ ...val, err: undefined }),
    serializers: {
      req: (req: { id: unknown; method: string; url: string; headers: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        headers: { ...req.headers },
      }),
    },
    ...(env.LOG_FORMAT === 'pretty'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' },
          },
        }
      : {}),
  };
}

/** The process's pino logger, for job contexts (set by LoggingModule; undefined in unit tests). */
let processLogger: Pino | undefined;

/**
 * Takes the pino logger that nestjs-pino uses outside requests. (nestjs-pino's PinoLogger.root is only set
 * where HTTP middleware is installed, so not in the worker.)
 */
@Injectable()
class JobLogRoot {
  constructor(pino: PinoLogger) {
    processLogger = pino.logger;
  }
}

/**
 * Logs of every process through pino (nestjs-pino): JSON lines (or pretty text with LOG_FORMAT=pretty) at
 * LOG_LEVEL, with the app name; HTTP requests carry a request id (X-Request-Id accepted and returned) and
 * lines a processor logs about a job carry its id (jobLogger). Credentials are redacted (REDACTED_PATHS,
 * secret query parameters). Import once at the root: `LoggingModule.forApp('api')`; main.ts then calls
 * `app.useLogger(app.get(Logger))` so that every Nest `Logger` writes through pino.
 */
@Module({})
export class LoggingModule {
  static forApp(app: string): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [CommonEnv],
          useFactory: (env: CommonEnv) => ({
            pinoHttp: pinoHttpOptions(env, app),
            // Express 5 route syntax for "every path" (the library's default `*` is logged as legacy).
            forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          }),
        }),
      ],
      providers: [JobLogRoot],
    };
  }
}

/** The lines a processor writes about one job. */
export interface JobLogger {
  debug(message: string): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A logger whose lines carry the job's id and name (`jobId`, `job`), like a request id: one pino child per
 * job, passed explicitly. (An AsyncLocalStorage context would put the id on lines of every layer below,
 * but it switches on Node's promise hooks for the whole process: ~5 % of a polling worker's CPU.)
 */
export function jobLogger(job: { id?: string; name: string }, context: string): JobLogger {
  if (!processLogger) return new Logger(context);
  const child = processLogger.child({ context, jobId: job.id, job: job.name });
  return {
    debug: (message) => child.debug(message),
    log: (message) => child.info(message),
    warn: (message) => child.warn(message),
    error: (message) => child.error(message),
  };
}
