import { Module } from '@nestjs/common';
import { MetersModule } from '../meters/meters.module';
import { ReadingsController } from './readings.controller';
import { ReadingsRepository } from './readings.repository';
import { ReadingsService } from './readings.service';

@Module({
  imports: [MetersModule],
  controllers: [ReadingsController],
  providers: [ReadingsRepository, ReadingsService],
})
export class ReadingsModule {}
