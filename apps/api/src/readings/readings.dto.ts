import type { CommunicationStatus, ReadingQuality, ReadingType } from '@app/contracts';
import type { MeterStatus } from '@app/database';
import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ObisReadingDto } from '../commands/commands.dto';
import { PageQueryDto } from '../common';

export const HISTORY_BUCKETS = ['15m', '1h', '1d'] as const;
export type HistoryBucket = (typeof HISTORY_BUCKETS)[number];

export const HISTORY_DEFAULT_RANGE_MS = 24 * 3600_000;
export const HISTORY_MAX_RANGE_DAYS = 31;
export const MAX_RECORDS_LIMIT = 100;
export const DEFAULT_RECORDS_LIMIT = 20;
export const MAX_SERIES_LIMIT = 1000;

/** `page` as every paginated list; `limit` has its own bounds (records vs series). */
export class HistoryQueryDto extends PickType(PageQueryDto, ['page'] as const) {
  @ApiPropertyOptional({ description: 'ISO 8601; default endDate − 24 h', example: '2025-01-30T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'startDate must be an ISO 8601 date or date-time' })
  startDate?: string;

  @ApiPropertyOptional({
    description: `ISO 8601 (inclusive); default now. At most ${HISTORY_MAX_RANGE_DAYS} days after startDate`,
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'endDate must be an ISO 8601 date or date-time' })
  endDate?: string;

  @ApiPropertyOptional({
    description: 'One code (any spelling): answers a value series instead of read records',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  obisCode?: string;

  @ApiPropertyOptional({
    enum: HISTORY_BUCKETS,
    description: 'Aggregate the obisCode series (numeric codes only)',
  })
  @IsOptional()
  @IsIn(HISTORY_BUCKETS)
  bucket?: HistoryBucket;

  @ApiPropertyOptional({
    minimum: 1,
    description: `Records: ≤ ${MAX_RECORDS_LIMIT} (default ${DEFAULT_RECORDS_LIMIT}); series and buckets: ≤ ${MAX_SERIES_LIMIT} (default ${MAX_SERIES_LIMIT})`,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SERIES_LIMIT)
  limit?: number;
}

export class LatestReadingDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ enum: ['online', 'offline', 'active', 'warehouse', 'faulty'] }) meterStatus!: MeterStatus;
  @ApiProperty({ nullable: true, type: String, description: 'Time of the latest read that returned values' })
  readAt!: string | null;
  @ApiProperty({ nullable: true, type: String, enum: ['scheduled', 'on-demand', 'push'] })
  readingType!: ReadingType | null;
  @ApiProperty({ nullable: true, type: String, enum: ['success', 'partial', 'failed'] })
  communicationStatus!: CommunicationStatus | null;
  @ApiProperty({ nullable: true, type: Number }) responseTime!: number | null;
  @ApiProperty({ type: [ObisReadingDto] }) readings!: ObisReadingDto[];
  @ApiProperty({ nullable: true, type: String }) lastSeen!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Time of the latest attempt, successful or not' })
  lastPollAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why the latest attempt failed (null when it succeeded)',
  })
  lastError!: string | null;
}

export class ReadRecordDto {
  @ApiProperty() id!: number;
  @ApiProperty() readAt!: string;
  @ApiProperty({ enum: ['scheduled', 'on-demand', 'push'] }) readingType!: ReadingType;
  @ApiProperty({ enum: ['success', 'partial', 'failed'] }) communicationStatus!: CommunicationStatus;
  @ApiProperty() responseTime!: number;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ type: [ObisReadingDto] }) readings!: ObisReadingDto[];
}

export class SeriesPointDto {
  @ApiProperty() timestamp!: string;
  @ApiProperty({
    anyOf: [
      { type: 'number', nullable: true },
      { type: 'string', nullable: true },
    ],
  })
  value!: number | string | null;
  @ApiProperty({ nullable: true, type: String }) unit!: string | null;
  @ApiProperty({ enum: ['good', 'questionable', 'error'] }) quality!: ReadingQuality;
}

export class BucketPointDto {
  @ApiProperty({ description: 'Start of the bucket (UTC-aligned)' }) timestamp!: string;
  @ApiProperty() avg!: number;
  @ApiProperty() min!: number;
  @ApiProperty() max!: number;
  @ApiProperty({ description: 'Latest value in the bucket' }) last!: number;
  @ApiProperty() count!: number;
}
