import { Module } from '@nestjs/common';
import { AreasModule } from '../areas/areas.module';
import { SessionRevocationModule } from '../auth/session-revocation';
import { InitialAdminService } from './initial-admin.service';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [AreasModule, SessionRevocationModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, InitialAdminService],
  exports: [UsersService],
})
export class UsersModule {}
