import { WorkerEnv } from '@app/config';
import { ReadMetrics } from '@app/metrics';
import { WatchedMeters } from '@app/realtime-publisher';
import { Module } from '@nestjs/common';
import { ExchangeSlots } from './exchange-slots';
import { MeterLockService } from './meter-lock.service';
import { MeterReader } from './meter-reader';
import { OnDemandReadService } from './on-demand-read.service';
import { PollStatsRecorder } from './poll-stats.recorder';
import { PollingRedisCloser, pollingRedisProvider, POLLING_REDIS } from './polling-redis.provider';
import { PollingRepository } from './polling.repository';
import { ReadEvents } from './read-events';
import { ReadStore } from './read-store';
import { ScheduledPollService } from './scheduled-poll.service';

/**
 * Reading meters and storing reads, and the per-meter lock, shared by scheduled polling (PollingModule)
 * and the command processor. Needs the global config, DatabaseModule, MeterProtocolModule.forRoot() and
 * RealtimePublisherModule.forRoot().
 */
@Module({
  providers: [
    ReadMetrics,
    pollingRedisProvider,
    PollingRedisCloser,
    PollingRepository,
    PollStatsRecorder,
    MeterLockService,
    MeterReader,
    ReadStore,
    WatchedMeters,
    ReadEvents,
    {
      provide: ExchangeSlots,
      inject: [WorkerEnv],
      useFactory: (env: WorkerEnv) =>
        new ExchangeSlots(env.METER_MAX_CONCURRENT_POLLS, env.METER_MAX_SILENT_READS),
    },
    ScheduledPollService,
    OnDemandReadService,
  ],
  exports: [
    ExchangeSlots,
    PollingRepository,
    ScheduledPollService,
    OnDemandReadService,
    MeterReader,
    ReadStore,
    ReadEvents,
    MeterLockService,
    PollStatsRecorder,
    POLLING_REDIS,
  ],
})
export class PollingCoreModule {}
