import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const MAX_AUDIT_PAGE = 100;

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'Actor: a user or API key id, or its name' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  actor?: string;

  @ApiPropertyOptional({ description: 'Target id (e.g. a meter, user, area or key id)' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  target?: string;

  @ApiPropertyOptional({ description: 'An action (`meter.update`), or a prefix ending in "." (`meter.`)' })
  @IsOptional()
  @Matches(/^[a-z-]+(\.[A-Za-z]*)?$/, { message: 'action must look like "meter.update" or "meter."' })
  action?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateString({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateString({ strict: true })
  to?: string;

  @ApiPropertyOptional({ description: "The previous page's pagination.nextBefore" })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_AUDIT_PAGE)
  limit: number = 50;
}

export class AuditEntryDto {
  @ApiProperty() id!: number;
  @ApiProperty({ type: String, format: 'date-time' }) at!: Date;
  @ApiProperty({ enum: ['user', 'api-key', 'anonymous'] }) actorType!: string;
  @ApiProperty({ type: String, nullable: true }) actorId!: string | null;
  @ApiProperty() actorName!: string;
  @ApiProperty({ example: 'meter.update' }) action!: string;
  @ApiProperty({ type: String, nullable: true }) targetType!: string | null;
  @ApiProperty({ type: String, nullable: true }) targetId!: string | null;
  @ApiProperty({ enum: ['success', 'refused', 'failed'] }) outcome!: string;
  @ApiProperty() statusCode!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'Bounded summary: `{ before, after }` (the fields that changed), `{ request, result }` (a creation or ' +
      'action) or `{ request, error }` (a refused or failed request); secrets are `[redacted]`',
  })
  changes!: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) sourceAddress!: string | null;
}

/** Keyset pagination of the audit trail: the next page is `before=nextBefore`. */
export class AuditPaginationDto {
  @ApiProperty() limit!: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Pass as `before` for the next (older) page; null on the last page',
  })
  nextBefore!: number | null;
}
