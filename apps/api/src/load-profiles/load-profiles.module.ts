import { QUEUES } from '@app/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { MetersModule } from '../meters/meters.module';
import { LoadProfilesController, ReportsController } from './load-profiles.controller';
import { LoadProfilesRepository } from './load-profiles.repository';
import { LoadProfilesService } from './load-profiles.service';

/**
 * Interval data in the api: a meter's load profile and completeness, the fleet completeness KPI and the
 * clock drift report. Registers QUEUES.PROFILE so Bull Board shows the collection (the worker processes it).
 */
@Module({
  imports: [MetersModule, BullModule.registerQueue({ name: QUEUES.PROFILE })],
  controllers: [LoadProfilesController, ReportsController],
  providers: [LoadProfilesRepository, LoadProfilesService],
})
export class LoadProfilesModule {}
