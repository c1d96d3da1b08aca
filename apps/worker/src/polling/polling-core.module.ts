import { Module } from '@nestjs/common';
import { MeterLockService } from './meter-lock.service';
import { MeterPollService } from './meter-poll.service';
import { PollStatsRecorder } from './poll-stats.recorder';
import { PollingRedisCloser, pollingRedisProvider, POLLING_REDIS } from './polling-redis.provider';
import { PollingRepository } from './polling.repository';

/**
 * Reading-and-storing meters and the per-meter lock, shared by scheduled polling (PollingModule) and the
 * command processor. Needs the global config, DatabaseModule, MeterProtocolModule.forRoot() and
 * RealtimePublisherModule.forRoot().
 */
@Module({
  providers: [
    pollingRedisProvider,
    PollingRedisCloser,
    PollingRepository,
    PollStatsRecorder,
    MeterLockService,
    MeterPollService,
  ],
  exports: [MeterPollService, MeterLockService, PollStatsRecorder, POLLING_REDIS],
})
export class PollingCoreModule {}
