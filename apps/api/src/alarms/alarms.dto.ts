import { ALARM_SEVERITIES, ALARM_STATES, AlarmSeverity, AlarmState, METER_ALARMS } from '@app/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsObject, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { PageQueryDto } from '../common';
import { METER_NUMBER_PATTERN } from '../meters/meters.dto';

export class ListAlarmsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ALARM_STATES })
  @IsOptional()
  @IsIn(ALARM_STATES)
  state?: AlarmState;

  @ApiPropertyOptional({ description: 'Area id (uuid)' })
  @IsOptional()
  @IsUUID('all', { message: 'area must be an area id (uuid)' })
  area?: string;

  @ApiPropertyOptional({ description: 'Meter id (uuid) or meter number' })
  @IsOptional()
  @IsString()
  @Matches(/^([0-9a-fA-F-]{36}|[A-Za-z0-9_-]{1,32})$/, {
    message: 'meter must be a meter id or meter number',
  })
  meter?: string;
}

/** POST /push/alarms: `details` is bounded (PUSH_ALARM_DETAILS_MAX_BYTES) by the service. */
export class PushAlarmDto {
  @ApiProperty({ example: 'MTR-001' })
  @IsString()
  @Matches(METER_NUMBER_PATTERN, { message: 'meterNumber must be 1-32 letters, digits, "_" or "-"' })
  meterNumber!: string;

  @ApiProperty({ enum: METER_ALARMS })
  @IsIn(METER_ALARMS)
  alarm!: (typeof METER_ALARMS)[number];

  @ApiProperty({ description: 'ISO 8601: when the meter raised it', example: '2026-01-30T10:00:00Z' })
  @IsISO8601({ strict: true }, { message: 'timestamp must be an ISO 8601 date-time' })
  timestamp!: string;

  @ApiPropertyOptional({ type: Object })
  @IsOptional()
  @IsObject()
  details?: Record<string, unknown>;
}

export class AlarmDto {
  @ApiProperty() id!: string;
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty() areaId!: string;
  @ApiProperty({ example: 'power-failure' }) alarm!: string;
  @ApiProperty({ enum: ALARM_SEVERITIES }) severity!: AlarmSeverity;
  @ApiProperty({ enum: ALARM_STATES }) state!: AlarmState;
  @ApiProperty() raisedAt!: Date;
  @ApiProperty() receivedAt!: Date;
  @ApiProperty({ nullable: true, type: Object }) details!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, description: 'username' }) acknowledgedBy!: string | null;
  @ApiProperty({ nullable: true }) acknowledgedAt!: Date | null;
  @ApiProperty({ nullable: true }) clearedAt!: Date | null;
}
