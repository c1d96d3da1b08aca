import { QUEUES } from '@app/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { PollingCoreModule } from '../polling/polling-core.module';
import { CommandAuditRepository } from './command-audit.repository';
import { CommandExecutor } from './command-executor.service';
import { CommandProcessor } from './command.processor';
import { CommandSweeper } from './command-sweeper.service';

/** On-demand read and write commands (QUEUES.COMMAND). Needs BullModule.forRoot and MeterProtocolModule. */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.COMMAND }), PollingCoreModule],
  providers: [CommandAuditRepository, CommandExecutor, CommandProcessor, CommandSweeper],
  exports: [CommandProcessor],
})
export class CommandsModule {}
