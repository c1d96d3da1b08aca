import type { NestExpressApplication } from '@nestjs/platform-express';
import type { HttpRequest, HttpResponse, NextFn } from './http-types';
import { BadRequestException, HttpException } from '@nestjs/common';
import { bodyParserError } from './all-exceptions.filter';

export const BODY_LIMIT = '1mb';
/** Deeper JSON than any of our DTOs: the validation pipe walks bodies recursively and would overflow. */
export const MAX_BODY_DEPTH = 32;

/**
 * Property names no DTO has and the validation pipe cannot see as unknown (they resolve on every object's
 * prototype, so `forbidNonWhitelisted` let `{"constructor": 1}` through silently); also the names of
 * prototype pollution.
 */
const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * Why this parsed body (or URL) is refused before any handler sees it, or null. NUL characters: PostgreSQL
 * text cannot hold them, so they would otherwise fail deep in a query. Iterative, so depth cannot hurt it.
 */
export function hostileInput(url: string, body: unknown): string | null {
  if (/%00/.test(url)) return 'The URL contains a NUL character (%00)';
  const stack: [unknown, number][] = [[body, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return 'The request body contains a NUL character (\\u0000)';
    } else if (value && typeof value === 'object') {
      if (depth >= MAX_BODY_DEPTH) return `The request body is nested deeper than ${MAX_BODY_DEPTH} levels`;
      for (const [key, child] of Object.entries(value)) {
        if (RESERVED_KEYS.has(key)) return `The request body uses the reserved property name "${key}"`;
        stack.push([key, depth], [child, depth + 1]);
      }
    }
  }
  return null;
}

/**
 * JSON and urlencoded parsers limited to 1 MB. Their errors are turned into HttpExceptions right here, so
 * the global filter answers 413 / 400 in the envelope instead of Express's HTML error page.
 */
export function useBodyParsers(app: NestExpressApplication): void {
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: true });
  app.use((err: unknown, _req: HttpRequest, _res: HttpResponse, next: NextFn) => {
    const mapped = bodyParserError(err);
    next(mapped ? new HttpException(mapped.body.message, mapped.status) : err);
  });
  app.use((req: HttpRequest, _res: HttpResponse, next: NextFn) => {
    const problem = hostileInput(req.originalUrl ?? req.url ?? '', req.body);
    next(problem ? new BadRequestException(problem) : undefined);
  });
}
