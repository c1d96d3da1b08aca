import 'reflect-metadata';
import { ApiEnv, closeOnSignals, logUnhandledRejections } from '@app/config';
import { Logger } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './bootstrap';

async function bootstrap(): Promise<void> {
  logUnhandledRejections();
  // configureApp installs the 1 MB parsers and maps their errors; Nest's default parsers stay off.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
  });
  // Every Nest Logger writes through pino from here on (JSON lines, request ids, redaction).
  app.useLogger(app.get(PinoLogger));
  configureApp(app);
  const env = app.get(ApiEnv);
  closeOnSignals(app, { graceMs: env.SHUTDOWN_GRACE_MS });
  await app.listen(env.PORT);
  Logger.log(`api listening on port ${env.PORT}`, 'Api');
}

bootstrap().catch((err: Error) => {
  // Configuration errors are meant to be read as-is; anything else also needs its cause (e.g. pg's reason).
  const cause = err.cause instanceof Error ? `\nCaused by: ${err.cause.message}` : '';
  console.error(`${err.message}${cause}`);
  process.exit(1);
});
