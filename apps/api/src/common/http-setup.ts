import type { NestExpressApplication } from '@nestjs/platform-express';
import type { HttpRequest, HttpResponse, NextFn } from './http-types';
import { HttpException } from '@nestjs/common';
import { bodyParserError } from './all-exceptions.filter';
import { keepPushRawBody } from '../push/push-port';

export const BODY_LIMIT = '1mb';

/**
 * JSON and urlencoded parsers limited to 1 MB. Their errors are turned into HttpExceptions right here, so
 * the global filter answers 413 / 400 in the envelope instead of Express's HTML error page.
 */
export function useBodyParsers(app: NestExpressApplication): void {
  // Pushes are signed over their exact bytes: the parser keeps them for the signature check.
  app.useBodyParser('json', { limit: BODY_LIMIT, verify: keepPushRawBody });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: true });
  app.use((err: unknown, _req: HttpRequest, _res: HttpResponse, next: NextFn) => {
    const mapped = bodyParserError(err);
    next(mapped ? new HttpException(mapped.body.message, mapped.status) : err);
  });
}
