import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ReadStore } from '../polling/read-store';
import { ProfileQueueWorker } from './profile-queue.worker';

/**
 * A meter coming back online (a stored read turned it offline → online) is back-filled from its memory at
 * once: its profile collection is queued the moment the store commits, not left to the next hourly slot.
 */
@Injectable()
export class ProfileBackfillTrigger implements OnModuleInit {
  private readonly logger = new Logger(ProfileBackfillTrigger.name);

  constructor(
    private readonly store: ReadStore,
    private readonly profiles: ProfileQueueWorker,
  ) {}

  onModuleInit(): void {
    this.store.onBackOnline((meterIds) => {
      this.profiles
        .backfill(meterIds)
        .catch((err: Error) =>
          this.logger.warn(`back-fill of ${meterIds.length} meter(s) not queued: ${err.message}`),
        );
    });
  }
}
