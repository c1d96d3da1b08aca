import { MeterAlarmKind } from '@app/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PUSH_MAX_VALUES } from './push-readings';

/** Named readings of the seed system's pushes → OBIS codes, with their scaler to the catalog's unit. */
export const SEED_READING_CODES = {
  totalEnergy: { obisCode: '1-0:15.8.0.255', scaler: 3, unit: 'Wh' }, // sent in kWh
  voltage: { obisCode: '1-0:32.7.0.255', scaler: 0, unit: 'V' },
  current: { obisCode: '1-0:31.7.0.255', scaler: 0, unit: 'A' },
  power: { obisCode: '1-0:1.7.0.255', scaler: 3, unit: 'W' }, // sent in kW
  frequency: { obisCode: '1-0:14.7.0.255', scaler: 0, unit: 'Hz' },
  powerFactor: { obisCode: '1-0:13.7.0.255', scaler: 0, unit: null },
} as const;

/** The seed system's event types that are alarms here; other events are accepted and not stored. */
export const SEED_EVENT_ALARMS: Record<string, MeterAlarmKind> = {
  TAMPER_DETECTED: 'tamper',
  POWER_OUTAGE: 'power-failure',
  POWER_RESTORED: 'power-restored',
  COVER_OPEN: 'cover-open',
  CLOCK_INVALID: 'clock-invalid',
};

export class SeedTamperStatusDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() coverOpen?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() magneticTamper?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() reverseFlow?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() neutralDisturbance?: boolean;
}

export class SeedReadingsDto {
  @ApiPropertyOptional({ description: 'kWh (stored as 1-0:15.8.0.255 in Wh)' })
  @IsOptional()
  @IsNumber()
  totalEnergy?: number;
  @ApiPropertyOptional({ description: 'V' }) @IsOptional() @IsNumber() voltage?: number;
  @ApiPropertyOptional({ description: 'A' }) @IsOptional() @IsNumber() current?: number;
  @ApiPropertyOptional({ description: 'kW (stored as 1-0:1.7.0.255 in W)' })
  @IsOptional()
  @IsNumber()
  power?: number;
  @ApiPropertyOptional({ description: 'Hz' }) @IsOptional() @IsNumber() frequency?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() powerFactor?: number;
  @ApiPropertyOptional({ description: 'Not stored' }) @IsOptional() @IsNumber() reactiveEnergy?: number;
  @ApiPropertyOptional({ description: 'Not stored' }) @IsOptional() @IsNumber() apparentEnergy?: number;
  @ApiPropertyOptional({ type: SeedTamperStatusDto, description: 'Not stored' })
  @IsOptional()
  @ValidateNested()
  @Type(() => SeedTamperStatusDto)
  tamperStatus?: SeedTamperStatusDto;
  @ApiPropertyOptional({ maxLength: 32, description: 'Not stored' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  relayStatus?: string;
}

export class SeedEventDto {
  @ApiProperty({
    maxLength: 64,
    example: 'TAMPER_DETECTED',
    description: 'TAMPER_DETECTED, POWER_OUTAGE, POWER_RESTORED, COVER_OPEN, CLOCK_INVALID raise alarms',
  })
  @IsString()
  @MaxLength(64)
  type!: string;
  @ApiPropertyOptional({ maxLength: 64 }) @IsOptional() @MaxLength(64) @IsString() code?: string;
  @ApiPropertyOptional({ maxLength: 32 }) @IsOptional() @MaxLength(32) @IsString() severity?: string;
  @ApiPropertyOptional({ maxLength: 64 }) @IsOptional() @MaxLength(64) @IsString() category?: string;
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @MaxLength(500)
  @IsString()
  description?: string;
  @ApiPropertyOptional({ maxLength: 40, description: "Default: the body's timestamp" })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  timestamp?: string;
}

/**
 * The seed system's POST /api/meters/data-ingestion body. Validated with unknown fields stripped (not
 * refused): its devices must move over unchanged.
 */
export class SeedIngestionDto {
  @ApiProperty({ example: 'MTR-001', pattern: '^[A-Za-z0-9_-]{1,32}$' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'meterNumber must be 1-32 letters, digits, "_" or "-"' })
  meterNumber!: string;

  @ApiPropertyOptional({ type: SeedReadingsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SeedReadingsDto)
  readings?: SeedReadingsDto;

  /** `[{ obisCode, value, unit?, scaler? }]` or `{ "<obis>": value }`, like a meter's answer. */
  @ApiPropertyOptional({
    type: Object,
    description: '`[{ obisCode, value, unit?, scaler? }]` or `{ "<obis>": value }`, like a meter\'s answer',
  })
  @IsOptional()
  obisReadings?: unknown;

  @ApiPropertyOptional({ type: [SeedEventDto], maxItems: 50 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => SeedEventDto)
  events?: SeedEventDto[];

  @ApiProperty({ maxLength: 40, description: 'When the readings were taken (ISO 8601 or epoch)' })
  @IsString()
  @MaxLength(40)
  timestamp!: string;

  @ApiProperty({ maxLength: 512, description: 'METER_INGESTION_KEY' })
  @IsString()
  @MaxLength(512)
  authentication!: string;
}

/** The seed body's readings as a push in the readings format (`decodePushedReadings` input), or null. */
export function seedPushBody(dto: SeedIngestionDto): Record<string, unknown> | null {
  const readings: Record<string, unknown>[] = [];
  for (const [name, code] of Object.entries(SEED_READING_CODES)) {
    const value = dto.readings?.[name as keyof typeof SEED_READING_CODES];
    if (typeof value === 'number') readings.push({ ...code, value });
  }
  const obis = dto.obisReadings;
  if (Array.isArray(obis)) {
    readings.push(...obis.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null));
  } else if (typeof obis === 'object' && obis !== null) {
    for (const [obisCode, value] of Object.entries(obis)) readings.push({ obisCode, value });
  }
  if (readings.length === 0) return null;
  return {
    meterNumber: dto.meterNumber,
    timestamp: dto.timestamp,
    readings: readings.slice(0, PUSH_MAX_VALUES + 1),
  };
}

/** Seed timestamps may be ISO strings or epoch milliseconds (as a string). */
export function seedTimestamp(value: string): string {
  return /^\d{12,14}$/.test(value) ? new Date(Number(value)).toISOString() : value;
}
