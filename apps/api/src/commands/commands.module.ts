import { QUEUES } from '@app/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { MetersModule } from '../meters/meters.module';
import { CommandDispatcher } from './command-dispatcher';
import { CommandPolicy } from './command-policy';
import { CommandQueueEvents } from './command-queue';
import { CommandsController } from './commands.controller';
import { CommandsRepository } from './commands.repository';
import { CommandsService } from './commands.service';

/** Produces command jobs only; the worker processes them (the api registers no processor). */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.COMMAND }), MetersModule],
  controllers: [CommandsController],
  providers: [CommandsRepository, CommandsService, CommandPolicy, CommandDispatcher, CommandQueueEvents],
})
export class CommandsModule {}
