import { Module } from '@nestjs/common';
import { PollingCoreModule } from '../polling/polling-core.module';
import { PushQueueWorker } from './push-queue.worker';

/** Meter push in the worker: stores the reads the api verified (QUEUES.PUSH). */
@Module({
  imports: [PollingCoreModule],
  providers: [PushQueueWorker],
})
export class PushModule {}
