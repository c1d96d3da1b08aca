import { AppConfigModule, LoggingModule, WorkerEnv } from '@app/config';
import { bullRootOptions } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { MeterProtocolModule } from '@app/meter-protocol';
import { MetricsModule } from '@app/metrics';
import { RealtimePublisherModule } from '@app/realtime-publisher';
import { BullModule, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger, Module } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { CommandsModule } from './commands/commands.module';
import { WorkerHealthModule } from './health/worker-health.module';
import { PollingModule } from './polling/polling.module';
import { PushModule } from './push/push.module';
import { ProfilesModule } from './profiles/profiles.module';
import { ClockModule } from './clock/clock.module';

/**
 * Stops every `@Processor` (the command processor) taking jobs and waits for its jobs in flight, in the
 * same phase as the poll processor drains: @nestjs/bullmq would only close them in onApplicationShutdown,
 * after feature modules had already closed their connections (the meter locks' Redis), so a command still
 * running, or taken meanwhile, could not release its meter lock.
 */
@Injectable()
class ProcessorsDrain implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');

  constructor(private readonly discovery: DiscoveryService) {}

  async beforeApplicationShutdown(): Promise<void> {
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
    await Promise.all(
      hosts.map((host) =>
        host.worker
          .close()
          .catch((err: Error) => this.logger.warn(`closing ${host.worker.name} processor: ${err.message}`)),
      ),
    );
  }
}

/**
 * The order of the global modules below is the shutdown order, reversed: Nest closes feature modules
 * first (the poll processor drains in beforeApplicationShutdown), then global modules in reverse import
 * order. So the BullMQ explorer closes the command processor (waiting for its job) while the meter
 * transport, the live-event publisher and the pg pool are still open; they close after it, the pool last.
 */
@Module({
  imports: [
    AppConfigModule.forApp(WorkerEnv),
    LoggingModule.forApp('worker'),
    DatabaseModule,
    MetricsModule.forRoot(),
    // Live events to the api instances (publisher ids `w<pid>-…`).
    RealtimePublisherModule.forRoot('w'),
    MeterProtocolModule.forRoot(),
    // Shared BullMQ connection and key prefix for every queue this process uses (QUEUES.POLL, QUEUES.COMMAND).
    BullModule.forRootAsync({
      inject: [WorkerEnv],
      useFactory: (env: WorkerEnv) => bullRootOptions(env.REDIS_URL, env.QUEUE_PREFIX),
    }),
    PollingModule,
    PushModule,
    ProfilesModule,
    ClockModule,
    CommandsModule,
    WorkerHealthModule,
    DiscoveryModule,
  ],
  providers: [ProcessorsDrain],
})
export class WorkerModule {}
