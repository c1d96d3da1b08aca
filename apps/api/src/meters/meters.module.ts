import { Module } from '@nestjs/common';
import { AreasModule } from '../areas/areas.module';
import { MetersController } from './meters.controller';
import { MetersRepository } from './meters.repository';
import { MetersService } from './meters.service';

/** The meter registry. Exports MetersService (getByIdOrNumber) for the polling, readings and command modules. */
@Module({
  imports: [AreasModule],
  controllers: [MetersController],
  providers: [MetersRepository, MetersService],
  exports: [MetersService],
})
export class MetersModule {}
