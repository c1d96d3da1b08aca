import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './bootstrap';

async function bootstrap(): Promise<void> {
  // configureApp installs the 1 MB parsers and maps their errors; Nest's default parsers stay off.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bodyParser: false });
  configureApp(app);
  const port = app.get(ConfigService).getOrThrow<number>('PORT');
  await app.listen(port);
  Logger.log(`api listening on port ${port}`, 'Api');
}

bootstrap().catch((err: Error) => {
  // Configuration errors are meant to be read as-is; anything else also needs its cause (e.g. pg's reason).
  const cause = err.cause instanceof Error ? `\nCaused by: ${err.cause.message}` : '';
  console.error(`${err.message}${cause}`);
  process.exit(1);
});
