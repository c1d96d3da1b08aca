import type { ProfileStatusFlag } from '@app/contracts';
import { PROFILE_STATUS_BITS } from '@app/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const PROFILE_DEFAULT_RANGE_MS = 24 * 3600_000;
/** The longest range of one profile request (JSON or CSV). */
export const PROFILE_MAX_RANGE_DAYS = 31;
/** Entries one profile request returns at most (31 days of 15-minute data is 2,976). */
export const PROFILE_MAX_ENTRIES = 10_000;
export const COMPLETENESS_DEFAULT_RANGE_DAYS = 7;
export const COMPLETENESS_MAX_RANGE_DAYS = 92;
export const WORST_METERS = 10;
export const PROFILE_FORMATS = ['json', 'csv'] as const;
const FLAGS = Object.keys(PROFILE_STATUS_BITS);

export class ProfileRangeQueryDto {
  @ApiPropertyOptional({
    description: 'ISO 8601 (inclusive); default to − 24 h',
    example: '2026-11-29T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    description: `ISO 8601 (exclusive); default now; at most ${PROFILE_MAX_RANGE_DAYS} days after from`,
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}

export class LoadProfileQueryDto extends ProfileRangeQueryDto {
  @ApiPropertyOptional({ enum: PROFILE_FORMATS, default: 'json', description: 'csv answers text/csv' })
  @IsOptional()
  @IsIn(PROFILE_FORMATS)
  format?: (typeof PROFILE_FORMATS)[number];
}

export class CompletenessQueryDto {
  @ApiPropertyOptional({
    description: `ISO 8601 (inclusive); default to − ${COMPLETENESS_DEFAULT_RANGE_DAYS} days`,
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    description: `ISO 8601 (exclusive); default now; at most ${COMPLETENESS_MAX_RANGE_DAYS} days after from`,
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}

export class FleetCompletenessQueryDto {
  @ApiPropertyOptional({ description: 'UTC day YYYY-MM-DD; default today (so far)', example: '2026-11-29' })
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'date must be a day YYYY-MM-DD' })
  date?: string;

  @ApiPropertyOptional({ description: 'Area id or code' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  area?: string;
}

export class ClockDriftQueryDto {
  @ApiPropertyOptional({ description: 'Area id or code' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  area?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

export class CaptureObjectDto {
  @ApiProperty({ example: '1-0:1.8.0.255' }) obisCode!: string;
  @ApiProperty({ example: 'Wh' }) unit!: string;
  @ApiProperty({ example: 0 }) scaler!: number;
}

export class ProfileValueDto {
  @ApiProperty({ nullable: true, type: Number, description: 'Physical value (raw × 10^scaler)' })
  value!: number | null;
  @ApiProperty() unit!: string;
}

export class LoadProfileEntryDto {
  @ApiProperty({ example: '2026-11-29T00:15:00.000Z', description: 'Capture instant, UTC' })
  timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/ProfileValueDto' },
    description: 'Values by OBIS code',
  })
  values!: Record<string, ProfileValueDto>;
  @ApiProperty({ description: 'DLMS status word' }) status!: number;
  @ApiProperty({ enum: FLAGS, isArray: true }) flags!: ProfileStatusFlag[];
}

export class LoadProfileDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ example: '1-0:99.1.0.255' }) profile!: string;
  @ApiProperty() from!: string;
  @ApiProperty() to!: string;
  @ApiProperty({ nullable: true, type: Number }) capturePeriodSec!: number | null;
  @ApiProperty({ type: [CaptureObjectDto] }) captureObjects!: CaptureObjectDto[];
  @ApiProperty({ type: [LoadProfileEntryDto] }) entries!: LoadProfileEntryDto[];
  @ApiProperty({
    description: `True when the range held more than ${PROFILE_MAX_ENTRIES} entries (the first are given)`,
  })
  truncated!: boolean;
}

export class CompletenessDayDto {
  @ApiProperty({ example: '2026-11-29' }) date!: string;
  @ApiProperty() expected!: number;
  @ApiProperty() collected!: number;
  @ApiProperty() missing!: number;
}

export class CompletenessDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty() from!: string;
  @ApiProperty() to!: string;
  @ApiProperty() capturePeriodSec!: number;
  @ApiProperty({ description: 'Capture instants in [from, min(to, now))' }) expected!: number;
  @ApiProperty() collected!: number;
  @ApiProperty() missing!: number;
  @ApiProperty({ type: [CompletenessDayDto], description: 'Per UTC day' }) days!: CompletenessDayDto[];
}

export class MeterCompletenessDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty() expected!: number;
  @ApiProperty() collected!: number;
  @ApiProperty() missing!: number;
}

export class FleetCompletenessDto {
  @ApiProperty({ example: '2026-11-29' }) date!: string;
  @ApiProperty({ nullable: true, type: String }) areaId!: string | null;
  @ApiProperty({ description: 'Polled meters (online or offline) in scope' }) meters!: number;
  @ApiProperty({ description: 'Meters with every interval of the day (so far)' }) metersComplete!: number;
  @ApiProperty() metersWithGaps!: number;
  @ApiProperty() intervalsExpected!: number;
  @ApiProperty() intervalsCollected!: number;
  @ApiProperty({ description: 'intervalsCollected / intervalsExpected (1 when nothing was expected)' })
  shareCollected!: number;
  @ApiProperty({ type: [MeterCompletenessDto], description: `The ${WORST_METERS} meters missing most` })
  worst!: MeterCompletenessDto[];
}

export class ClockDriftMeterDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ description: 'Meter clock minus true time, seconds (positive: fast)' })
  driftSeconds!: number;
  @ApiProperty() checkedAt!: string;
  @ApiProperty({ description: 'Beyond CLOCK_DRIFT_MAX_S' }) flagged!: boolean;
  @ApiProperty({ nullable: true, type: String }) syncRequestedAt!: string | null;
}

export class ClockDriftReportDto {
  @ApiProperty() maxDriftSeconds!: number;
  @ApiProperty({ description: 'Meters whose drift is known' }) checked!: number;
  @ApiProperty() flagged!: number;
  @ApiProperty({ type: [ClockDriftMeterDto], description: 'Worst first' }) meters!: ClockDriftMeterDto[];
}
