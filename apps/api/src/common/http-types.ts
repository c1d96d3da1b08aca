import type { IncomingMessage, ServerResponse } from 'node:http';

/** The few Express request/response members we use (@types/express is not installed). */
export interface HttpRequest extends IncomingMessage {
  originalUrl?: string;
  ip?: string;
  body?: unknown;
}

export interface HttpResponse extends ServerResponse {
  status(code: number): HttpResponse;
  json(body: unknown): HttpResponse;
}

export type NextFn = (err?: unknown) => void;
