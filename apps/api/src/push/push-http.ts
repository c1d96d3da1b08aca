import { PUSH_SIGNATURE_HEADER } from '@app/contracts';
import { ApiEnv } from '@app/config';
import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PushAlarmDto } from '../alarms/alarms.dto';
import { AllExceptionsFilter, createValidationPipe, dependencyPorts, hostileInput, ok } from '../common';
import { HttpMetrics } from '../metrics/http-metrics';
import { PushAuthenticator } from './push-authenticator';
import { PushService } from './push.service';

/** The operators' API takes 1 MB bodies (BODY_LIMIT); so do the meters' routes. */
export const PUSH_BODY_LIMIT_BYTES = 1024 * 1024;

const ROUTES = { readings: '/push/readings', alarms: '/push/alarms' } as const;

/** A request body as received: its exact bytes (the signature covers them) and their JSON, or why not. */
type ReadBody = { raw: Buffer; tooLarge: false } | { tooLarge: true };

/**
 * The meters' routes on PUSH_PORT, served by a plain `node:http` handler: at thousands of pushes a second
 * the Express/Nest pipeline (middleware, guards, pipes, interceptors) cost more CPU than the push itself.
 * Same contract as the operators' API: 1 MB body cap (413), strict JSON (400), the hostile-input checks,
 * authentication per meter before anything else looks at the body (401/429), validation (400 listing the
 * problems), and every answer in the `{ success, message, error }` envelope shaped by the api's one
 * exception filter (503 naming an unavailable dependency, 500 with a correlation id).
 * The routes are declared for the OpenAPI document by PushController.
 */
@Injectable()
export class PushHttpHandler {
  private readonly errors: AllExceptionsFilter;
  private readonly alarmPipe = createValidationPipe();
  /** Shutdown has begun: each answer closes its connection, so meters reconnect to another instance. */
  private draining = false;

  constructor(
    private readonly authenticator: PushAuthenticator,
    private readonly push: PushService,
    private readonly metrics: HttpMetrics,
    env: ApiEnv,
  ) {
    this.errors = new AllExceptionsFilter(dependencyPorts(env.DATABASE_URL, env.REDIS_URL));
  }

  /** From now on every answer closes its keep-alive connection (shutdown). */
  drain(): void {
    this.draining = true;
  }

  /** The `node:http` request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '').split('?')[0];
    const route = req.method === 'POST' && (path === ROUTES.readings || path === ROUTES.alarms) ? path : null;
    res.once('finish', () =>
      this.metrics.observe(req.method ?? '', route ?? 'unmatched', res.statusCode, started),
    );
    if (!route) {
      req.resume();
      this.fail(req, res, new NotFoundException(`Cannot ${req.method} ${path}`));
      return;
    }
    this.readBody(req, (body) => {
      this.serve(req, route, body).then(
        ({ status, payload }) => send(res, status, payload, this.draining),
        (err: unknown) => this.fail(req, res, err),
      );
    });
  };

  private async serve(
    req: IncomingMessage,
    route: string,
    read: ReadBody,
  ): Promise<{ status: number; payload: unknown }> {
    if (read.tooLarge) throw new PayloadTooLargeException('Request body is larger than the 1 MB limit');
    const body = parseJsonBody(req, read.raw);
    const problem = hostileInput(req.url ?? '', body.value);
    if (problem) throw new BadRequestException(problem);
    const target = await this.authenticator.authenticate(
      req.headers[PUSH_SIGNATURE_HEADER],
      body.json ? read.raw : undefined,
      body.value,
    );
    if (route === ROUTES.readings) {
      return {
        status: 202,
        payload: ok(await this.push.acceptReadings(target, body.value), 'reading accepted'),
      };
    }
    const dto = (await this.alarmPipe.transform(body.value, {
      type: 'body',
      metatype: PushAlarmDto,
    })) as PushAlarmDto;
    const alarm = await this.push.acceptAlarm(target, dto.alarm, dto.timestamp, dto.details);
    return { status: 200, payload: ok(alarm, alarm ? 'alarm recorded' : 'alarm already recorded') };
  }

  /** Collects the body up to PUSH_BODY_LIMIT_BYTES; beyond it the rest is read and dropped (then 413). */
  private readBody(req: IncomingMessage, done: (body: ReadBody) => void): void {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > PUSH_BODY_LIMIT_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > PUSH_BODY_LIMIT_BYTES) {
        tooLarge = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.once('end', () =>
      done(tooLarge ? { tooLarge: true } : { tooLarge: false, raw: Buffer.concat(chunks, size) }),
    );
    // An aborted request has nobody to answer.
    req.once('error', () => req.destroy());
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const { status, body } = this.errors.toResponse(err, req);
    send(res, status, body, this.draining);
  }
}

/**
 * The body as the operators' JSON parser reads it: `application/json` only (anything else is no body, so
 * the signature check refuses it), UTF-8, strict (an object or an array), empty = `{}`.
 */
function parseJsonBody(req: IncomingMessage, raw: Buffer): { json: boolean; value: unknown } {
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') return { json: false, value: undefined };
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (encoding !== 'identity' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new HttpException('Unsupported request body encoding', HttpStatus.UNSUPPORTED_MEDIA_TYPE);
  }
  if (raw.length === 0) return { json: true, value: {} };
  const text = raw.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw new BadRequestException('Request body is not valid JSON');
  try {
    return { json: true, value: JSON.parse(text) as unknown };
  } catch {
    throw new BadRequestException('Request body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, payload: unknown, closeConnection: boolean): void {
  if (res.headersSent) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(text);
}
