/**
 * A minimal Nest process for test/faults-infra-shutdown.e2e-spec.ts: one provider whose in-flight work
 * takes WORK_MS to finish on shutdown, and the apps' signal handling with SHUTDOWN_GRACE_MS.
 */
import 'reflect-metadata';
import { closeOnSignals } from '@app/config';
import { BeforeApplicationShutdown, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

@Injectable()
class InFlightWork implements BeforeApplicationShutdown, OnApplicationShutdown {
  async beforeApplicationShutdown(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.WORK_MS)));
    Logger.log('in-flight work finished', 'Fixture');
  }

  onApplicationShutdown(): void {
    Logger.log('connections closed', 'Fixture');
  }
}

@Module({ providers: [InFlightWork] })
class FixtureModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(FixtureModule, { logger: ['log', 'warn', 'error'] });
  closeOnSignals(app, { graceMs: Number(process.env.SHUTDOWN_GRACE_MS) });
  Logger.log('fixture ready', 'Fixture');
  // Something that keeps the process running, like a server or a queue worker would.
  setInterval(() => undefined, 1000);
}

void main();
