import { ApiEnv, AppConfigModule, LoggingModule } from '@app/config';
import { bullRootOptions } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { MetricsModule } from '@app/metrics';
import { RealtimePublisherModule } from '@app/realtime-publisher';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AlarmsModule } from './alarms/alarms.module';
import { AreasModule } from './areas/areas.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CommandsModule } from './commands/commands.module';
import { HealthModule } from './health/health.module';
import { MetersModule } from './meters/meters.module';
import { ApiMetricsModule } from './metrics/api-metrics.module';
import { ObisModule } from './obis/obis.module';
import { PollingModule } from './polling/polling.module';
import { PushModule } from './push/push.module';
import { ReadingsModule } from './readings/readings.module';
import { LoadProfilesModule } from './load-profiles/load-profiles.module';
import { RealtimeModule } from './realtime/realtime.module';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    AppConfigModule.forApp(ApiEnv),
    LoggingModule.forApp('api'),
    DatabaseModule,
    MetricsModule.forRoot(),
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
    // Before MetersModule too: POST /api/meters/data-ingestion and /api/meters/:id/push-secret.
    PushModule,
    AlarmsModule,
    AuthModule,
    AdminModule,
    UsersModule,
    ApiKeysModule,
    AuditModule,
    AreasModule,
    MetersModule,
    ObisModule,
    ReadingsModule,
    LoadProfilesModule,
    CommandsModule,
    RealtimeModule,
    HealthModule,
    ApiMetricsModule,
  ],
})
export class AppModule {}
