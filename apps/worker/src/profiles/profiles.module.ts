import { Module } from '@nestjs/common';
import { PollingCoreModule } from '../polling/polling-core.module';
import { ProfileBackfillTrigger } from './profile-backfill.trigger';
import { ProfileCollectorService } from './profile-collector.service';
import { ProfileMaintenanceService } from './profile-maintenance.service';
import { ProfileQueueWorker } from './profile-queue.worker';
import { ProfileRepository } from './profile.repository';

/** Load profile collection in the worker: the QUEUES.PROFILE processor, back-fill, partition housekeeping. */
@Module({
  imports: [PollingCoreModule],
  providers: [
    ProfileRepository,
    ProfileCollectorService,
    ProfileMaintenanceService,
    ProfileQueueWorker,
    ProfileBackfillTrigger,
  ],
})
export class ProfilesModule {}
