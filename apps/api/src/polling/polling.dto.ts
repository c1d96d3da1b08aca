import { POLLING_INTERVAL_MAX_MS, POLLING_INTERVAL_MIN_MS } from '@app/config';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';

export class SetPollingIntervalDto {
  @ApiProperty({
    example: 60000,
    minimum: POLLING_INTERVAL_MIN_MS,
    maximum: POLLING_INTERVAL_MAX_MS,
    description: 'Fleet-wide polling interval in ms (the same bounds as METER_POLLING_INTERVAL)',
  })
  @IsInt({ message: 'intervalMs must be a whole number of milliseconds' })
  @Min(POLLING_INTERVAL_MIN_MS, { message: `intervalMs must be at least ${POLLING_INTERVAL_MIN_MS}` })
  @Max(POLLING_INTERVAL_MAX_MS, { message: `intervalMs must be at most ${POLLING_INTERVAL_MAX_MS}` })
  intervalMs!: number;
}

export class PollingIntervalDto {
  @ApiProperty({ example: 60000, description: 'The interval in force from now on' })
  intervalMs!: number;
  @ApiProperty({ nullable: true, type: Number, example: 30000 })
  previousIntervalMs!: number | null;
  @ApiProperty({
    description:
      'True when this instance already rewrote the schedules; false when another api instance was ' +
      'reconciling at that moment (the change is then applied within 5 s)',
  })
  schedulesUpdated!: boolean;
}
