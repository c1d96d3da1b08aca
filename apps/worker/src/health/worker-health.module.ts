import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { PollingCoreModule } from '../polling/polling-core.module';
import { PollingModule } from '../polling/polling.module';
import { WorkerHttpServer } from './worker-http.server';
import { WorkerReadiness } from './worker-readiness.service';

/** The worker's HTTP listener (WORKER_HTTP_PORT): liveness, readiness, Prometheus metrics. */
@Module({
  imports: [PollingCoreModule, PollingModule, CommandsModule],
  providers: [WorkerReadiness, WorkerHttpServer],
})
export class WorkerHealthModule {}
