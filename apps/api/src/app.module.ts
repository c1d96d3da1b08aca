import { ApiEnv, AppConfigModule } from '@app/config';
import { bullRootOptions } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { RealtimePublisherModule } from '@app/realtime-publisher';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AreasModule } from './areas/areas.module';
import { AuthModule } from './auth/auth.module';
import { CommandsModule } from './commands/commands.module';
import { HealthModule } from './health/health.module';
import { MetersModule } from './meters/meters.module';
import { ObisModule } from './obis/obis.module';
import { PollingModule } from './polling/polling.module';
import { ReadingsModule } from './readings/readings.module';
import { LoadProfilesModule } from './load-profiles/load-profiles.module';
import { RealtimeModule } from './realtime/realtime.module';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    AppConfigModule.forApp(ApiEnv),
    DatabaseModule,
    // Shared BullMQ connection and key prefix for every queue the api produces to (poll schedules, commands).
    // A request must not wait for Redis to come back: with the offline queue off, a command issued while
    // Redis is down fails at once and the request gets a 503 naming Redis. BullMQ still waits for the
    // first connection before its first command, and reconnects by itself, every ≤ 2 s.
    BullModule.forRootAsync({
      inject: [ApiEnv],
      useFactory: (env: ApiEnv) => {
        const root = bullRootOptions(env.REDIS_URL, env.QUEUE_PREFIX);
        return {
          ...root,
          connection: { ...root.connection, enableOfflineQueue: false },
        };
      },
    }),
    // Live events of operators' status changes (publisher ids `a<pid>-…`), like a worker's.
    RealtimePublisherModule.forRoot('a'),
    // Before MetersModule: its GET /api/meters/:id would otherwise capture /api/meters/polling/status.
    PollingModule,
    AuthModule,
    UsersModule,
    AreasModule,
    MetersModule,
    ObisModule,
    ReadingsModule,
    LoadProfilesModule,
    CommandsModule,
    RealtimeModule,
    HealthModule,
  ],
})
export class AppModule {}
