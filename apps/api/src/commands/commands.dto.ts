import type { CommunicationStatus, ObisReadingValue } from '@app/contracts';
import type { CommandStatus } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsOptional,
  IsString,
  MaxLength,
  ValidateBy,
} from 'class-validator';

/** A value of one of these types or null (OpenAPI 3.0: nullable needs a type beside it, so on each). */
function nullableOf(...types: ('number' | 'string' | 'boolean')[]): { type: string; nullable: true }[] {
  return types.map((type) => ({ type, nullable: true }));
}

export const MAX_READ_CODES = 100;
/** Longest accepted OBIS spelling (see parseObisCode) plus some slack for surrounding spaces. */
const MAX_CODE_LENGTH = 40;
const MAX_WRITE_VALUE_LENGTH = 64;

export class ReadObisDto {
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_READ_CODES,
    example: ['1-0:15.8.0.255', '1-0:32.7.0.255', '1-0:31.7.0.255'],
    description:
      "Any accepted spelling; absent or empty means the meter's configured codes (or the 17 defaults)",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_READ_CODES)
  @IsString({ each: true })
  @MaxLength(MAX_CODE_LENGTH, { each: true })
  obisCodes?: string[];
}

function IsWriteValue() {
  return ValidateBy({
    name: 'isWriteValue',
    validator: {
      validate: (v: unknown) =>
        (typeof v === 'string' && v.length <= MAX_WRITE_VALUE_LENGTH) ||
        (typeof v === 'number' && Number.isFinite(v)) ||
        typeof v === 'boolean',
      defaultMessage: () =>
        `value must be a string of at most ${MAX_WRITE_VALUE_LENGTH} characters, a number or a boolean`,
    },
  });
}

/** Value type is checked per code by the catalog (validateWriteValue), so only its size is bounded here. */
export class WriteObisDto {
  @ApiProperty({ example: '0-0:96.3.10.255' })
  @IsString()
  @MaxLength(MAX_CODE_LENGTH)
  obisCode!: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }],
    example: 'disconnected',
    description: 'Clock: ISO 8601 date-time; disconnect control: connected | disconnected; limiter: watts',
  })
  @IsDefined()
  @IsWriteValue()
  value!: string | number | boolean;
}

export class ObisReadingDto implements ObisReadingValue {
  @ApiProperty({ example: '1-0:32.7.0.255' }) obisCode!: string;
  @ApiProperty({ nullable: true, type: String, example: 'Voltage L1' }) name!: string | null;
  @ApiProperty({ anyOf: nullableOf('number', 'string'), example: 2301 })
  rawValue!: number | string | null;
  @ApiProperty({ nullable: true, type: Number, example: -1 }) scaler!: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'V' }) unit!: string | null;
  @ApiProperty({ anyOf: nullableOf('number', 'string'), example: 230.1 })
  value!: number | string | null;
  @ApiProperty({ enum: ['good', 'questionable', 'error'] }) quality!: 'good' | 'questionable' | 'error';
}

export class ReadObisResultDto {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ enum: ['success', 'partial'] }) communicationStatus!: CommunicationStatus;
  @ApiProperty({ type: [ObisReadingDto] }) readings!: ObisReadingDto[];
  @ApiProperty({ description: 'Milliseconds the meter took to answer' }) responseTime!: number;
  @ApiProperty({ description: 'Time of the stored on-demand read record' }) readAt!: string;
  @ApiPropertyOptional({ description: 'Why some values are unusable (partial reads)' }) error?: string;
  @ApiProperty() commandId!: string;
}

export class WriteObisResultDto {
  @ApiProperty() commandId!: string;
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty() obisCode!: string;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'number' }] }) value!: string | number | boolean;
  @ApiProperty({ anyOf: nullableOf('string', 'number', 'boolean') })
  previousValue!: string | number | boolean | null;
  @ApiProperty() responseTime!: number;
}

export class CommandRequesterDto {
  @ApiProperty({ nullable: true, type: String }) id!: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The user's name, or the API key's name" })
  username!: string | null;
  @ApiProperty({ enum: ['user', 'api-key'] }) kind!: 'user' | 'api-key';
}

export class CommandRecordDto {
  @ApiProperty() id!: string;
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ enum: ['read', 'write'] }) commandType!: 'read' | 'write';
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Written code; for reads the requested codes (comma-separated) or null for the configured set',
  })
  obisCode!: string | null;
  @ApiProperty({ nullable: true, type: String }) oldValue!: string | null;
  @ApiProperty({ nullable: true, type: String }) newValue!: string | null;
  @ApiProperty({ enum: ['pending', 'success', 'failed', 'rejected'] }) status!: CommandStatus;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ nullable: true, type: Number }) responseTime!: number | null;
  @ApiProperty({ type: CommandRequesterDto }) requestedBy!: CommandRequesterDto;
  @ApiProperty() requestedAt!: string;
  @ApiProperty({ nullable: true, type: String }) completedAt!: string | null;
}
