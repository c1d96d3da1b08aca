import { POLLING_INTERVAL_MAX_MS, POLLING_INTERVAL_MIN_MS } from '@app/config';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import {
  METER_COUNTS_TTL_MS,
  type LastIntervalStats,
  type PollingStatus,
  type QueueDepths,
} from './polling-status.service';

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

export class QueueDepthsDto implements QueueDepths {
  @ApiProperty() waiting!: number;
  @ApiProperty() active!: number;
  @ApiProperty() delayed!: number;
  @ApiProperty() failed!: number;
}

export class PollingQueuesDto {
  @ApiProperty({ type: QueueDepthsDto }) poll!: QueueDepthsDto;
  @ApiProperty({ type: QueueDepthsDto }) command!: QueueDepthsDto;
}

export class ResponseTimesDto {
  @ApiProperty({ type: Number, nullable: true }) p50!: number | null;
  @ApiProperty({ type: Number, nullable: true }) p95!: number | null;
  @ApiProperty({ type: Number, nullable: true }) p99!: number | null;
}

export class LastIntervalStatsDto implements LastIntervalStats {
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ description: 'Meters read in the interval' }) polled!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ type: ResponseTimesDto, description: 'Meter response times (ms); null without reads' })
  responseTimeMs!: ResponseTimesDto;
}

export class PollingStatusDto implements PollingStatus {
  @ApiProperty({ description: 'Schedules in place and at least one live worker' }) isPolling!: boolean;
  @ApiProperty({ description: 'The fleet-wide interval in force (PostgreSQL settings)' })
  pollingIntervalMs!: number;
  @ApiProperty() activePolls!: number;
  @ApiProperty() maxConcurrentPolls!: number;
  @ApiProperty({ description: `Live meters online; counted at most ${METER_COUNTS_TTL_MS} ms ago` })
  onlineMeterCount!: number;
  @ApiProperty({ description: `Live meters offline; counted at most ${METER_COUNTS_TTL_MS} ms ago` })
  offlineMeterCount!: number;
  @ApiProperty({ description: 'Live workers (fresh heartbeat)' }) workers!: number;
  @ApiProperty({ type: PollingQueuesDto }) queues!: PollingQueuesDto;
  @ApiProperty({
    type: LastIntervalStatsDto,
    description: 'The last interval whose reads can no longer be in flight',
  })
  lastInterval!: LastIntervalStatsDto;
}
