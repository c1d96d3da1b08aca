import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule, JwtModuleOptions } from '@nestjs/jwt';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { LoginThrottlerGuard } from './login-throttler.guard';
import { RolesGuard } from './roles.guard';

/** JWT_EXPIRES_IN: plain digits are seconds (jsonwebtoken would read a digit string as milliseconds). */
export function parseExpiresIn(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

const LOGIN_THROTTLE_STORAGE = Symbol('LOGIN_THROTTLE_STORAGE');

/**
 * Login attempts are counted in Redis, so the limit holds across every api instance rather than per
 * instance. A Nest provider (not a plain option object) so that its connection is closed at shutdown.
 */
@Module({
  providers: [
    {
      provide: LOGIN_THROTTLE_STORAGE,
      inject: [ConfigService],
      useFactory: (config: ConfigService) =>
        new ThrottlerStorageRedisService(config.getOrThrow<string>('REDIS_URL'), {
          keyPrefix: `${config.getOrThrow<string>('QUEUE_PREFIX')}:login-throttle:`,
          connectionName: `hes-api-throttle-${process.pid}`,
          maxRetriesPerRequest: 3,
        }),
    },
  ],
  exports: [LOGIN_THROTTLE_STORAGE],
})
class LoginThrottleStorageModule {}

/**
 * Authentication for the whole api: registers the global JwtAuthGuard (every route needs a token unless
 * @Public()) and RolesGuard (@Roles(...)), and exports AuthService for the Socket.IO handshake.
 */
@Module({
  imports: [
    UsersModule,
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService): JwtModuleOptions => ({
        secret: config.getOrThrow<string>('JWT_SECRET'),
        signOptions: {
          algorithm: 'HS256',
          expiresIn: parseExpiresIn(config.getOrThrow<string>('JWT_EXPIRES_IN')) as never,
        },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
    ThrottlerModule.forRootAsync({
      imports: [LoginThrottleStorageModule],
      inject: [ConfigService, LOGIN_THROTTLE_STORAGE],
      useFactory: (config: ConfigService, storage: ThrottlerStorageRedisService) => ({
        storage,
        throttlers: [
          { name: 'login', ttl: 60_000, limit: config.getOrThrow<number>('LOGIN_RATE_LIMIT_PER_MINUTE') },
        ],
        errorMessage: 'Too many login attempts; try again in a minute',
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    LoginThrottlerGuard,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
