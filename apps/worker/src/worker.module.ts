import { AppConfigModule, redisRetryStrategy, WorkerEnv } from '@app/config';
import { bullRootOptions } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { MeterProtocolModule } from '@app/meter-protocol';
import { RealtimePublisherModule } from '@app/realtime-publisher';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { CommandsModule } from './commands/commands.module';
import { PollingModule } from './polling/polling.module';

/**
 * The order of the global modules below is the shutdown order, reversed: Nest closes feature modules
 * first (the poll processor drains in beforeApplicationShutdown), then global modules in reverse import
 * order. So the BullMQ explorer closes the command processor (waiting for its job) while the meter
 * transport, the live-event publisher and the pg pool are still open; they close after it, the pool last.
 */
@Module({
  imports: [
    AppConfigModule.forApp(WorkerEnv),
    DatabaseModule,
    // Live events to the api instances (publisher ids `w<pid>-…`).
    RealtimePublisherModule.forRoot('w'),
    MeterProtocolModule.forRoot(),
    // Shared BullMQ connection and key prefix for every queue this process uses (QUEUES.POLL, QUEUES.COMMAND).
    BullModule.forRootAsync({
      inject: [WorkerEnv],
      useFactory: (env: WorkerEnv) => {
        const root = bullRootOptions(env.REDIS_URL, env.QUEUE_PREFIX);
        // Back within 2 s of Redis (BullMQ's default waits up to 20 s between attempts).
        return { ...root, connection: { ...root.connection, retryStrategy: redisRetryStrategy } };
      },
    }),
    PollingModule,
    CommandsModule,
  ],
})
export class WorkerModule {}
