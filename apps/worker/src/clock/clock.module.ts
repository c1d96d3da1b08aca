import { QUEUES } from '@app/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { PollingCoreModule } from '../polling/polling-core.module';
import { ClockSyncService } from './clock-sync.service';

/** Meter clocks: automatic, audited, rate-limited clock sync (CLOCK_SYNC=auto). */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.COMMAND }), PollingCoreModule],
  providers: [ClockSyncService],
})
export class ClockModule {}
