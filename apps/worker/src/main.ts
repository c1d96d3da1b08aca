import 'reflect-metadata';
import { closeOnSignals, logUnhandledRejections, WorkerEnv } from '@app/config';
import { Logger } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  logUnhandledRejections();
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
  // Every Nest Logger writes through pino from here on (JSON lines, job ids, redaction).
  app.useLogger(app.get(PinoLogger));
  closeOnSignals(app, { graceMs: app.get(WorkerEnv).SHUTDOWN_GRACE_MS });
  await app.init();
  Logger.log('worker ready', 'Worker');
}

bootstrap().catch((err: Error) => {
  const cause = err.cause instanceof Error ? `\nCaused by: ${err.cause.message}` : '';
  console.error(`${err.message}${cause}`);
  process.exit(1);
});
