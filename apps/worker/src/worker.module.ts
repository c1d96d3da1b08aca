import { AppConfigModule, WorkerEnv } from '@app/config';
import { DatabaseModule } from '@app/database';
import { Module } from '@nestjs/common';

@Module({
  imports: [AppConfigModule.forApp(WorkerEnv), DatabaseModule],
})
export class WorkerModule {}
