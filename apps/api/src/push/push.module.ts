import { QUEUES } from '@app/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AlarmsModule } from '../alarms/alarms.module';
import { MetersModule } from '../meters/meters.module';
import { ApiMetricsModule } from '../metrics/api-metrics.module';
import { PushController } from './push.controller';
import { PushListener } from './push-listener';
import { PushReadQueue } from './push-read-queue';
import { PushAdmission, pushRedisProvider } from './push-redis';
import { PushSecretCipher } from './push-secret.cipher';
import { PushSecretsController } from './push-secrets.controller';
import { PushAuthenticator } from './push-authenticator';
import { PushHttpHandler } from './push-http';
import { PushTargets } from './push-targets';
import { PushRepository } from './push.repository';
import { PushService } from './push.service';
import { SeedIngestionController } from './seed-ingestion.controller';
import { SeedIngestionService } from './seed-ingestion.service';

/**
 * Meter push in the api: the push listener (plain `node:http`, PUSH_PORT) and its routes (signed per
 * meter), push secrets, the seed system's ingestion route. Verified reads go to the workers (QUEUES.PUSH); alarms are recorded here.
 */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.PUSH }), AlarmsModule, MetersModule, ApiMetricsModule],
  controllers: [PushController, PushSecretsController, SeedIngestionController],
  providers: [
    pushRedisProvider,
    PushAdmission,
    PushRepository,
    PushTargets,
    PushSecretCipher,
    PushAuthenticator,
    PushHttpHandler,
    PushReadQueue,
    PushService,
    SeedIngestionService,
    PushListener,
  ],
})
export class PushModule {}
