import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { NewAuditEntry } from '@app/database';
import { randomUUID } from 'node:crypto';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/jwt-auth.guard';
import { unavailableDependency } from '../common/dependency-errors';
import type { HttpResponse } from '../common/http-types';
import { bounded, changedFields, isRecord, summarize } from './audit-summary';
import { AUDIT_TARGET_KEY, type AuditTargetType } from './audit-target.decorator';
import { AuditSnapshots } from './audit-snapshots';
import { AuditRepository } from './audit.repository';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A client's X-Request-Id is kept when it looks like one; otherwise the api makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_NAME = 64;

type AuditedRequest = AuthenticatedRequest & {
  method: string;
  params?: Record<string, string>;
  id?: unknown;
};

/**
 * Writes one audit_log entry for every state-changing request that reached its handler (after the
 * authentication and role guards): who (user, key, or the name a login tried), the action
 * (`<target>.<handler>`, e.g. `meter.update`, `meter.writeObis`, `api-key.revoke`), the target, a
 * bounded before/after summary without secrets, the outcome and status, the request id (also answered
 * as X-Request-Id) and the source address. Refused or failed requests are recorded too.
 *
 * The entry is written after the handler, outside its transaction: when PostgreSQL fails between the two,
 * the change stands and the missing entry is logged as an error (the request is not failed for it).
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly reflector: Reflector,
    private readonly repository: AuditRepository,
    private readonly snapshots: AuditSnapshots,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<AuditedRequest>();
    if (!STATE_CHANGING.has(req.method)) return next.handle();
    const res = context.switchToHttp().getResponse<HttpResponse>();
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);

    const handler = context.getHandler();
    const target =
      this.reflector.getAllAndOverride<AuditTargetType | undefined>(AUDIT_TARGET_KEY, [
        handler,
        context.getClass(),
      ]) ??
      context
        .getClass()
        .name.replace(/Controller$/, '')
        .toLowerCase();
    const action = `${target}.${handler.name}`;
    const ref = req.params?.id;
    const successStatus =
      (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ??
      (req.method === 'POST' ? 201 : 200);
    const base = {
      action,
      targetType: target,
      requestId,
      sourceAddress: req.ip ?? req.socket.remoteAddress ?? null,
    };

    const before =
      req.method === 'PATCH' || req.method === 'PUT' || req.method === 'DELETE'
        ? this.snapshots.before(target as AuditTargetType, ref)
        : Promise.resolve(undefined);

    return from(before).pipe(
      mergeMap((beforeView) =>
        next.handle().pipe(
          mergeMap(async (body: unknown) => {
            const data = isRecord(body) ? body.data : undefined;
            await this.write({
              ...base,
              ...actorOf(req, data),
              targetId: targetIdOf(data, ref),
              outcome: 'success',
              statusCode: successStatus,
              changes: successSummary(req, beforeView, data),
            });
            return body;
          }),
          catchError(async (err: unknown) => {
            const status = statusOf(err);
            await this.write({
              ...base,
              ...actorOf(req, undefined),
              targetId: ref ?? null,
              outcome: status >= 500 ? 'failed' : 'refused',
              statusCode: status,
              changes: bounded({
                request: summarize(req.body ?? null),
                error: summarize(err instanceof Error ? err.message : String(err)),
              }),
            });
            throw err;
          }),
        ),
      ),
    );
  }

  private async write(entry: NewAuditEntry): Promise<void> {
    try {
      await this.repository.insert(entry);
    } catch (err) {
      this.logger.error(
        `audit entry not written (${entry.action} by ${entry.actorName}, request ${entry.requestId}): ` +
          (err as Error).message,
      );
    }
  }
}

function requestIdOf(req: AuditedRequest): string {
  if (typeof req.id === 'string' && REQUEST_ID.test(req.id)) return req.id;
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** The caller; for a login (public), the user it logged in as or the name it tried. */
function actorOf(
  req: AuditedRequest,
  data: unknown,
): Pick<NewAuditEntry, 'actorType' | 'actorId' | 'actorName'> {
  if (req.user) {
    return { actorType: req.user.kind, actorId: req.user.id, actorName: req.user.username };
  }
  const user = isRecord(data) && isRecord(data.user) ? data.user : undefined;
  if (user && typeof user.id === 'string' && typeof user.username === 'string') {
    return { actorType: 'user', actorId: user.id, actorName: user.username };
  }
  const tried = isRecord(req.body) && typeof req.body.username === 'string' ? req.body.username : '';
  return { actorType: 'anonymous', actorId: null, actorName: tried.slice(0, MAX_NAME) || 'anonymous' };
}

function targetIdOf(data: unknown, ref: string | undefined): string | null {
  if (isRecord(data)) {
    for (const id of [data.id, data.meterId, isRecord(data.user) ? data.user.id : undefined]) {
      if (typeof id === 'string') return id;
    }
  }
  return ref ?? null;
}

function successSummary(req: AuditedRequest, before: unknown, data: unknown): Record<string, unknown> {
  if (isRecord(before) && isRecord(data)) {
    const diff = changedFields(before, data);
    // A delete answers with what was deleted (nothing differs): the whole of it is the summary. A
    // revocation answers with the revoked view: the difference is.
    if (req.method === 'DELETE' && Object.keys(diff.after).length === 0)
      return bounded({ before: summarize(before) });
    return bounded(diff);
  }
  if (req.method === 'DELETE') return bounded({ before: summarize(data ?? null) });
  return bounded({ request: summarize(req.body ?? null), result: summarize(data ?? null) });
}

function statusOf(err: unknown): number {
  if (err instanceof HttpException) return err.getStatus();
  return unavailableDependency(err) ? 503 : 500;
}
