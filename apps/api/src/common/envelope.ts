import { ApiProperty } from '@nestjs/swagger';

/** Every successful answer: `{ success: true, message?, data }`. */
export interface ApiOk<T> {
  success: true;
  message?: string;
  data: T;
}

export interface Pagination {
  total: number;
  page: number;
  pages: number;
  limit: number;
}

/** A page of a list: `{ success: true, data, pagination: { total, page, pages, limit } }`. */
export interface ApiPage<T> {
  success: true;
  data: T[];
  pagination: Pagination;
}

/** Every error: `{ success: false, message, error }` (plus `details` for validation, `correlationId` for 500). */
export interface ApiError {
  success: false;
  message: string;
  error: string;
  details?: string[];
  correlationId?: string;
}

export function ok<T>(data: T, message?: string): ApiOk<T> {
  return message === undefined ? { success: true, data } : { success: true, message, data };
}

export function paginated<T>(data: T[], total: number, page: number, limit: number): ApiPage<T> {
  return { success: true, data, pagination: { total, page, pages: Math.ceil(total / limit), limit } };
}

/** Swagger schema of the error envelope. */
export class ApiErrorDto implements ApiError {
  @ApiProperty({ example: false, enum: [false] })
  success!: false;
  @ApiProperty({ example: 'meterNumber must be 1-32 letters, digits, "-" or "_"' })
  message!: string;
  @ApiProperty({ example: 'Bad Request' })
  error!: string;
  @ApiProperty({ required: false, type: [String] })
  details?: string[];
  @ApiProperty({ required: false, description: 'Set on 500 answers; the same id is in the server log.' })
  correlationId?: string;
}

export class PaginationDto implements Pagination {
  @ApiProperty() total!: number;
  @ApiProperty() page!: number;
  @ApiProperty() pages!: number;
  @ApiProperty() limit!: number;
}
