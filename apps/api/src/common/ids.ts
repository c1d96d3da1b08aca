import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Route-param pipe for uuid ids: anything else is a 400 (a non-uuid would otherwise reach PostgreSQL and
 * come back as a 500). Usage: `@Param('id', ParseIdPipe) id: string`.
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw new BadRequestException('id must be a UUID');
    return value.toLowerCase();
  }
}
