import { AppConfigModule, WorkerEnv } from '@app/config';
import { bullRootOptions } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { MeterProtocolModule } from '@app/meter-protocol';
import { RealtimePublisherModule } from '@app/realtime-publisher';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CommandsModule } from './commands/commands.module';
import { PollingModule } from './polling/polling.module';

@Module({
  imports: [
    AppConfigModule.forApp(WorkerEnv),
    DatabaseModule,
    // Shared BullMQ connection and key prefix for every queue this process uses (QUEUES.POLL, QUEUES.COMMAND).
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) =>
        bullRootOptions(config.getOrThrow<string>('REDIS_URL'), config.getOrThrow<string>('QUEUE_PREFIX')),
    }),
    MeterProtocolModule.forRoot(),
    // Live events to the api instances (publisher ids `w<pid>-…`).
    RealtimePublisherModule.forRoot('w'),
    PollingModule,
    CommandsModule,
  ],
})
export class WorkerModule {}
