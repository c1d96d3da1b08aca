import { ApiEnv } from '@app/config';
import { logRedisOutages } from '@app/database';
import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_GUARD } from '@nestjs/core';
import { createSecretKey } from 'node:crypto';
import { JwtModule, JwtModuleOptions } from '@nestjs/jwt';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { LOGIN_PER_ADDRESS, LOGIN_PER_USERNAME, LoginThrottlerGuard } from './login-throttler.guard';
import { RolesGuard } from './roles.guard';
import { SessionRevocationModule } from './session-revocation';

/** JWT_EXPIRES_IN: plain digits are seconds (jsonwebtoken would read a digit string as milliseconds). */
export function parseExpiresIn(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

const LOGIN_THROTTLE_STORAGE = Symbol('LOGIN_THROTTLE_STORAGE');
/** The login throttle's Redis connection (readiness checks it too: logins need it). */
export const LOGIN_THROTTLE_REDIS = Symbol('LOGIN_THROTTLE_REDIS');
/** How long boot waits for the first connection; until it is made, logins answer 503 (Redis unavailable). */
const THROTTLE_CONNECT_WAIT_MS = 5_000;
/** A Redis that accepts connections but does not answer must not hold a login longer than this. */
const THROTTLE_COMMAND_TIMEOUT_MS = 800;

/**
 * The login counters' connection. Without Redis the limit cannot be enforced, so logins are refused with a
 * 503 naming Redis, at once: no offline queue, a bounded command time. ioredis reconnects by itself.
 */
async function createThrottleRedis(env: ApiEnv): Promise<Redis> {
  const redis = new Redis(env.REDIS_URL, {
    connectionName: `hes-api-throttle-${process.pid}`,
    keyPrefix: `${env.QUEUE_PREFIX}:login-throttle:`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: THROTTLE_COMMAND_TIMEOUT_MS,
  });
  logRedisOutages(redis, new Logger('Redis'), 'Redis (login throttle)');
  const ready = new Promise<void>((resolve) => {
    redis.once('ready', resolve);
    setTimeout(resolve, THROTTLE_CONNECT_WAIT_MS).unref();
  });
  await ready;
  return redis;
}

/** Closes the login counters' connection once the HTTP server no longer takes requests. */
@Injectable()
class ThrottleRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(LOGIN_THROTTLE_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * Login attempts are counted in Redis, so the limit holds across every api instance rather than per
 * instance. The storage gets our connection (it then leaves closing to us, after the HTTP server).
 */
@Module({
  providers: [
    { provide: LOGIN_THROTTLE_REDIS, inject: [ApiEnv], useFactory: createThrottleRedis },
    {
      provide: LOGIN_THROTTLE_STORAGE,
      inject: [LOGIN_THROTTLE_REDIS],
      useFactory: (redis: Redis) => new ThrottlerStorageRedisService(redis),
    },
    ThrottleRedisCloser,
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
    ApiKeysModule,
    SessionRevocationModule,
    JwtModule.registerAsync({
      inject: [ApiEnv],
      useFactory: (env: ApiEnv): JwtModuleOptions => {
        // A KeyObject, made once: given the string, jsonwebtoken first tries to parse it as a PEM public
        // key on every sign and verify (an exception each time, about a tenth of a request's CPU).
        const key = createSecretKey(Buffer.from(env.JWT_SECRET, 'utf8'));
        return {
          secretOrKeyProvider: () => key,
          signOptions: {
            algorithm: 'HS256',
            expiresIn: parseExpiresIn(env.JWT_EXPIRES_IN) as never,
          },
          verifyOptions: { algorithms: ['HS256'] },
        };
      },
    }),
    ThrottlerModule.forRootAsync({
      imports: [LoginThrottleStorageModule],
      inject: [ApiEnv, LOGIN_THROTTLE_STORAGE],
      useFactory: (env: ApiEnv, storage: ThrottlerStorageRedisService) => ({
        storage,
        throttlers: [
          { name: LOGIN_PER_ADDRESS, ttl: 60_000, limit: env.LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE },
          { name: LOGIN_PER_USERNAME, ttl: 60_000, limit: env.LOGIN_RATE_LIMIT_PER_MINUTE },
        ],
        // Only Retry-After (set by the guard): the X-RateLimit-* headers would tell an attacker the budget.
        setHeaders: false,
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
