import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { UsersModule } from '../users/users.module';
import { BoardSessionController } from './board-session.controller';
import { BoardSessionService } from './board-session.service';

/** Bull Board's sessions (the board itself is mounted on Express by configureApp, see bull-board.ts). */
@Module({
  // Its own JwtService: board sessions are signed with their own key (BoardSessionService), per call.
  imports: [UsersModule, JwtModule.register({})],
  controllers: [BoardSessionController],
  providers: [BoardSessionService],
  exports: [BoardSessionService],
})
export class AdminModule {}
