import { ApiEnv, AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { Module } from '@nestjs/common';

@Module({
  imports: [AppConfigModule.forApp(ApiEnv), DatabaseModule],
})
export class AppModule {}
