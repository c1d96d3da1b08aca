import { redactUrl } from '@app/config';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { BaseWsExceptionFilter } from '@nestjs/websockets';
import type { HttpRequest as Request, HttpResponse as Response } from './http-types';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { DependencyPorts, DependencyUnavailableException, unavailableDependency } from './dependency-errors';
import { ApiError } from './envelope';
import { InputValidationException } from './validation';

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

/** At most one log line per dependency in this period while it is unavailable; the rest are counted. */
const OUTAGE_LOG_EVERY_MS = 10_000;

/**
 * The one place HTTP errors are shaped: `{ success: false, message, error }` with the exception's status.
 * An error saying PostgreSQL or Redis is unavailable is a 503 naming it ('database unavailable'), logged
 * once per period without a stack. Anything else that is not an HttpException is a bug: 500 with a
 * correlation id that is also in the log line (with the stack), and nothing internal in the body.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');
  private readonly wsFilter = new BaseWsExceptionFilter();
  private readonly outageLog = new Map<string, { at: number; suppressed: number }>();

  /** `ports` (of DATABASE_URL and REDIS_URL) tell which dependency a refused connection was aimed at. */
  constructor(private readonly ports: DependencyPorts = {}) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() === 'ws') {
      this.wsFilter.catch(exception, host);
      return;
    }
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const { status, body } = this.toResponse(exception, req);
    if (res.headersSent) return;
    res.status(status).json(body);
  }

  /**
   * The answer to `exception` (logged like any other), for a listener that does not go through Nest: the
   * meters' push listener.
   */
  toResponse(
    exception: unknown,
    req: Pick<Request, 'method' | 'url' | 'originalUrl'>,
  ): { status: number; body: ApiError } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body: ApiError = { success: false, message: messageOf(exception), error: reason(status) };
      if (exception instanceof InputValidationException) body.details = exception.problems;
      if (exception instanceof DependencyUnavailableException && exception.reasons.length) {
        body.details = exception.reasons;
      }
      return { status, body };
    }
    const parserError = bodyParserError(exception);
    if (parserError) return parserError;
    const dependency = unavailableDependency(exception, this.ports);
    if (dependency) {
      const unavailable = new DependencyUnavailableException([dependency]);
      this.logOutage(dependency, exception, req);
      return {
        status: unavailable.getStatus(),
        body: { success: false, message: unavailable.message, error: reason(unavailable.getStatus()) },
      };
    }

    const correlationId = randomUUID();
    const err = exception instanceof Error ? exception : new Error(String(exception));
    const cause = err.cause instanceof Error ? `\nCaused by: ${err.cause.stack ?? err.cause.message}` : '';
    this.logger.error(
      `Unhandled error on ${req.method} ${redactUrl(req.originalUrl ?? req.url ?? '')} [correlationId=${correlationId}]: ${err.message}`,
      `${err.stack}${cause}`,
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: {
        success: false,
        message: 'Internal server error',
        error: reason(HttpStatus.INTERNAL_SERVER_ERROR),
        correlationId,
      },
    };
  }

  private logOutage(
    dependency: string,
    exception: unknown,
    req: Pick<Request, 'method' | 'url' | 'originalUrl'>,
  ): void {
    const now = Date.now();
    const last = this.outageLog.get(dependency);
    if (last && now - last.at < OUTAGE_LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    let root = exception;
    while (root instanceof Error && root.cause) root = root.cause;
    // The innermost cause says what failed (Drizzle's own message is the SQL text).
    const message = root instanceof Error ? root.message : String(root);
    const more = last?.suppressed ? ` (${last.suppressed} more 503s since the last report)` : '';
    this.logger.warn(
      `${dependency} unavailable: 503 on ${req.method} ${redactUrl(req.originalUrl ?? req.url ?? '')}: ${message.split('\n')[0]}${more}`,
    );
    this.outageLog.set(dependency, { at: now, suppressed: 0 });
  }
}

/** body-parser errors carry `type` and a 4xx `status`; they are the client's fault, never a 500. */
export function bodyParserError(exception: unknown): { status: number; body: ApiError } | null {
  const e = exception as { type?: unknown; status?: unknown } | null;
  if (!e || typeof e.type !== 'string' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) {
    return null;
  }
  const status = e.status;
  let message: string;
  switch (e.type) {
    case 'entity.too.large':
      message = 'Request body is larger than the 1 MB limit';
      break;
    case 'entity.parse.failed':
      message = 'Request body is not valid JSON';
      break;
    case 'encoding.unsupported':
    case 'charset.unsupported':
      message = 'Unsupported request body encoding';
      break;
    default:
      message = `Unreadable request body (${e.type})`;
  }
  return { status, body: { success: false, message, error: reason(status) } };
}
