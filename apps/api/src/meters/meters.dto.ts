import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsIP,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { METER_STATUSES, METER_TYPES, type MeterStatus, type MeterType } from '@app/database';
import { isObisCode } from '@app/obis';
import { type ApiPage, PageQueryDto, PaginationDto } from '../common';

export const METER_NUMBER_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
export const MAX_OBIS_CODES_PER_METER = 100;
export const MAX_BATCH_METER_IDS = 1000;
const METER_NUMBER_MESSAGE = 'meterNumber must be 1-32 letters, digits, "-" or "_"';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** PATCH fields that may be left out but not set to null. */
const unlessUndefined = ValidateIf((_: object, v: unknown) => v !== undefined);

/** Each element is an OBIS code in any accepted spelling (stored canonical). Names the bad ones. */
function IsObisCodeList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isObisCodeList',
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.every((v) => isObisCode(v)),
        defaultMessage: (args?: ValidationArguments) => {
          const bad = Array.isArray(args?.value) ? args.value.filter((v: unknown) => !isObisCode(v)) : [];
          const shown = bad
            .slice(0, 5)
            .map((v: unknown) => JSON.stringify(v))
            .join(', ');
          return `obisCodes must be OBIS codes such as "1-0:1.8.0.255" (invalid: ${shown})`;
        },
      },
    },
    options,
  );
}

export class CreateMeterDto {
  @ApiProperty({ example: 'MTR-001', pattern: METER_NUMBER_PATTERN.source })
  @IsString()
  @Matches(METER_NUMBER_PATTERN, { message: METER_NUMBER_MESSAGE })
  meterNumber!: string;

  @ApiProperty({ enum: METER_TYPES })
  @IsIn(METER_TYPES)
  meterType!: MeterType;

  @ApiProperty({ example: 'hexing', maxLength: 64 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  brand!: string;

  @ApiProperty({ example: 'HEM-3X30', maxLength: 64 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  model!: string;

  @ApiProperty({ description: 'Area id (uuid) or area code', example: 'DT-01' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  area!: string;

  @ApiPropertyOptional({
    description: 'IPv4/IPv6 address inside METER_ALLOWED_NETWORKS; defaults to METER_HOST',
    example: '192.168.1.100',
  })
  @IsOptional()
  @IsIP(undefined, { message: 'ipAddress must be an IPv4 or IPv6 address' })
  ipAddress?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 65535, description: 'Defaults to METER_PORT', example: 8080 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  port?: number;

  @ApiPropertyOptional({ enum: METER_STATUSES, default: 'online' })
  @IsOptional()
  @IsIn(METER_STATUSES)
  status?: MeterStatus;

  @ApiPropertyOptional({ maxLength: 64, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  firmware?: string | null;

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_OBIS_CODES_PER_METER,
    nullable: true,
    description: 'OBIS codes to poll (stored as A-B:C.D.E.F, duplicates removed); null/absent = default set',
    example: ['1-0:15.8.0.255', '1-0:32.7.0.255'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_OBIS_CODES_PER_METER)
  @IsObisCodeList()
  obisCodes?: string[] | null;
}

export class UpdateMeterDto {
  @ApiPropertyOptional({ pattern: METER_NUMBER_PATTERN.source })
  @unlessUndefined
  @IsString()
  @Matches(METER_NUMBER_PATTERN, { message: METER_NUMBER_MESSAGE })
  meterNumber?: string;

  @ApiPropertyOptional({ enum: METER_TYPES })
  @unlessUndefined
  @IsIn(METER_TYPES)
  meterType?: MeterType;

  @ApiPropertyOptional({ maxLength: 64 })
  @unlessUndefined
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  brand?: string;

  @ApiPropertyOptional({ maxLength: 64 })
  @unlessUndefined
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  model?: string;

  @ApiPropertyOptional({ description: 'Area id (uuid) or area code' })
  @unlessUndefined
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  area?: string;

  @ApiPropertyOptional({ description: 'IPv4/IPv6 address inside METER_ALLOWED_NETWORKS' })
  @unlessUndefined
  @IsIP(undefined, { message: 'ipAddress must be an IPv4 or IPv6 address' })
  ipAddress?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 65535 })
  @unlessUndefined
  @IsInt()
  @Min(1)
  @Max(65535)
  port?: number;

  @ApiPropertyOptional({ enum: METER_STATUSES })
  @unlessUndefined
  @IsIn(METER_STATUSES)
  status?: MeterStatus;

  @ApiPropertyOptional({ maxLength: 64, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  firmware?: string | null;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_OBIS_CODES_PER_METER, nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_OBIS_CODES_PER_METER)
  @IsObisCodeList()
  obisCodes?: string[] | null;
}

export class ListMetersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: METER_STATUSES })
  @IsOptional()
  @IsIn(METER_STATUSES)
  status?: MeterStatus;

  @ApiPropertyOptional({ description: 'Area id (uuid) or code' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  area?: string;

  @ApiPropertyOptional({ description: 'Exact brand, case-insensitive' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  brand?: string;

  @ApiPropertyOptional({ description: 'Substring of meterNumber, brand or model, case-insensitive' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  search?: string;

  @ApiPropertyOptional({
    description:
      'pagination.nextCursor of the previous page: continues right after it (keyset; as fast at any depth, ' +
      'stable while meters are added or removed). When given, page is ignored.',
    pattern: METER_NUMBER_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @Matches(METER_NUMBER_PATTERN, { message: 'cursor must be a nextCursor from a previous page' })
  cursor?: string;
}

/** Optional body of the batch endpoints: the address rules of a new meter; defaults METER_HOST / METER_PORT. */
export class EnableAllOnlineDto extends PickType(CreateMeterDto, ['ipAddress', 'port'] as const) {}

export class ConfigureOnlineDto extends EnableAllOnlineDto {
  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: MAX_BATCH_METER_IDS,
    description: 'Meter ids (uuid) or meter numbers',
    example: ['MTR-001', 'MTR-002'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_METER_IDS)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  meterIds!: string[];

  @ApiPropertyOptional({ enum: METER_STATUSES, default: 'online' })
  @IsOptional()
  @IsIn(METER_STATUSES)
  status?: MeterStatus;
}

export class MeterAreaDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() code!: string;
}

export class MeterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ enum: METER_TYPES }) meterType!: MeterType;
  @ApiProperty() brand!: string;
  @ApiProperty() model!: string;
  @ApiProperty({ type: MeterAreaDto }) area!: MeterAreaDto;
  @ApiProperty({ type: String, nullable: true }) ipAddress!: string | null;
  @ApiProperty({ type: Number, nullable: true }) port!: number | null;
  @ApiProperty({ enum: METER_STATUSES }) status!: MeterStatus;
  @ApiProperty({ type: String, nullable: true }) firmware!: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'null = the default OBIS set' })
  obisCodes!: string[] | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSeen!: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}

export class OnlineConfigurationDto {
  @ApiProperty({ enum: METER_STATUSES, example: 'online' }) status!: MeterStatus;
  @ApiProperty({ example: '192.168.1.100' }) ipAddress!: string;
  @ApiProperty({ example: 8080 }) port!: number;
}

export class BatchConfigurationResultDto {
  @ApiProperty() matchedCount!: number;
  @ApiProperty() modifiedCount!: number;
  @ApiProperty({ type: OnlineConfigurationDto }) configuration!: OnlineConfigurationDto;
}

export class MeterPaginationDto extends PaginationDto {
  @ApiProperty({
    description:
      'true: total is the exact number of matching meters. false: more than 1,000 match and total (and ' +
      "pages) is PostgreSQL's estimate, so that a broad filter never counts the whole fleet.",
  })
  totalExact!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as cursor for the next page; null when this page is not full (the last one).',
  })
  nextCursor!: string | null;
}

/** GET /api/meters: a page whose pagination also says whether total is exact, and the next cursor. */
export interface MeterPageDto extends ApiPage<MeterDto> {
  pagination: MeterPaginationDto;
}
