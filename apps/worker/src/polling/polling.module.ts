import { Module } from '@nestjs/common';
import { PartitionMaintenanceService } from './partition-maintenance.service';
import { PollQueueWorker } from './poll-queue.worker';
import { PollingCoreModule } from './polling-core.module';
import { WorkerHeartbeatService } from './worker-heartbeat.service';

/** Scheduled polling in the worker: the QUEUES.POLL processor, partition housekeeping, heartbeat. */
@Module({
  imports: [PollingCoreModule],
  providers: [PartitionMaintenanceService, WorkerHeartbeatService, PollQueueWorker],
  exports: [PollQueueWorker],
})
export class PollingModule {}
