import { MeterAlarmKind } from '@app/contracts';
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
  @IsOptional() @IsBoolean() coverOpen?: boolean;
  @IsOptional() @IsBoolean() magneticTamper?: boolean;
  @IsOptional() @IsBoolean() reverseFlow?: boolean;
  @IsOptional() @IsBoolean() neutralDisturbance?: boolean;
}

export class SeedReadingsDto {
  @IsOptional() @IsNumber() totalEnergy?: number;
  @IsOptional() @IsNumber() voltage?: number;
  @IsOptional() @IsNumber() current?: number;
  @IsOptional() @IsNumber() power?: number;
  @IsOptional() @IsNumber() frequency?: number;
  @IsOptional() @IsNumber() powerFactor?: number;
  @IsOptional() @IsNumber() reactiveEnergy?: number;
  @IsOptional() @IsNumber() apparentEnergy?: number;
  @IsOptional() @ValidateNested() @Type(() => SeedTamperStatusDto) tamperStatus?: SeedTamperStatusDto;
  @IsOptional() @IsString() @MaxLength(32) relayStatus?: string;
}

export class SeedEventDto {
  @IsString() @MaxLength(64) type!: string;
  @IsOptional() @MaxLength(64) @IsString() code?: string;
  @IsOptional() @MaxLength(32) @IsString() severity?: string;
  @IsOptional() @MaxLength(64) @IsString() category?: string;
  @IsOptional() @MaxLength(500) @IsString() description?: string;
  @IsOptional() @IsString() @MaxLength(40) timestamp?: string;
}

/**
 * The seed system's POST /api/meters/data-ingestion body. Validated with unknown fields stripped (not
 * refused): its devices must move over unchanged.
 */
export class SeedIngestionDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'meterNumber must be 1-32 letters, digits, "_" or "-"' })
  meterNumber!: string;

  @IsOptional() @ValidateNested() @Type(() => SeedReadingsDto) readings?: SeedReadingsDto;

  /** `[{ obisCode, value, unit?, scaler? }]` or `{ "<obis>": value }`, like a meter's answer. */
  @IsOptional() obisReadings?: unknown;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => SeedEventDto)
  events?: SeedEventDto[];

  @IsString() @MaxLength(40) timestamp!: string;

  @IsString() @MaxLength(512) authentication!: string;
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
