import { QUEUES } from '@app/contracts';
import { SettingsRepository } from '@app/database';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { PollScheduleService } from './poll-schedule.service';
import { PollingController } from './polling.controller';
import { PollingIntervalService } from './polling-interval.service';
import { PollingStatusService } from './polling-status.service';
import { ApiPollingRedisCloser, apiPollingRedisProvider } from './polling-redis.provider';

/**
 * Scheduled polling, api side: owns the fleet-wide polling interval and the poll queue's job schedulers,
 * and reports polling status. Produces no poll jobs itself beyond the schedulers and registers no
 * processor (workers do the polling).
 */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.POLL }, { name: QUEUES.COMMAND })],
  controllers: [PollingController],
  providers: [
    apiPollingRedisProvider,
    ApiPollingRedisCloser,
    SettingsRepository,
    PollingIntervalService,
    PollScheduleService,
    PollingStatusService,
  ],
  exports: [PollScheduleService, PollingIntervalService],
})
export class PollingModule {}
