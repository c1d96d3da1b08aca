import { Module } from '@nestjs/common';
import { ObisController } from './obis.controller';
import { ObisRepository } from './obis.repository';
import { ObisService } from './obis.service';

@Module({
  controllers: [ObisController],
  providers: [ObisRepository, ObisService],
  exports: [ObisService],
})
export class ObisModule {}
