import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.init();
  Logger.log('worker ready', 'Worker');
}

bootstrap().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
