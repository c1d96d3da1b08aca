import { Module } from '@nestjs/common';
import { AreasModule } from '../areas/areas.module';
import { SessionRevocationModule } from '../auth/session-revocation';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/** Integration keys; exports ApiKeysService for authentication (AuthModule). */
@Module({
  imports: [AreasModule, SessionRevocationModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
