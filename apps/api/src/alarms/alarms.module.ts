import { Module } from '@nestjs/common';
import { AlarmsController } from './alarms.controller';
import { AlarmsRepository } from './alarms.repository';
import { AlarmsService } from './alarms.service';

/** Alarms raised by meters: stored, listed, acknowledged; AlarmsService is used by the push module. */
@Module({
  controllers: [AlarmsController],
  providers: [AlarmsRepository, AlarmsService],
  exports: [AlarmsService],
})
export class AlarmsModule {}
