import type { IncomingMessage } from 'node:http';
import type { HttpRequest, HttpResponse, NextFn } from '../common/http-types';

/** Marks requests that came in through the meters' push listener (PUSH_PORT). */
const VIA_PUSH_LISTENER = Symbol('viaPushListener');

export interface PushHttpRequest extends HttpRequest {
  [VIA_PUSH_LISTENER]?: true;
  /** The exact bytes of a push body: its signature covers them. */
  rawBody?: Buffer;
}

export function markPushRequest(req: IncomingMessage): void {
  (req as PushHttpRequest)[VIA_PUSH_LISTENER] = true;
}

/** Paths the push listener serves (and the operators' port does not). */
export function isPushPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/push' || url.startsWith('/push/') || url.startsWith('/push?'));
}

/**
 * The api process serves two networks from one Express app: the operators' port answers everything but
 * /push/*, the push listener answers /push/* only (meters never reach the operator API, Swagger, Bull Board
 * or Socket.IO). Installed first, before body parsing.
 */
export function pushPortGate(req: PushHttpRequest, res: HttpResponse, next: NextFn): void {
  const viaPush = req[VIA_PUSH_LISTENER] === true;
  if (viaPush === isPushPath(req.url)) return next();
  const path = (req.url ?? '').split('?')[0];
  res.status(404).json({ success: false, message: `Cannot ${req.method} ${path}`, error: 'Not Found' });
}

/** Body-parser `verify`: keeps the raw bytes of push bodies (and only those) for the signature check. */
export function keepPushRawBody(req: IncomingMessage, _res: unknown, buffer: Buffer): void {
  if (isPushPath(req.url)) (req as PushHttpRequest).rawBody = buffer;
}
