import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { validateEnv } from './validate-env';

/** Loads and validates the environment once per app; boot fails with a readable list of problems. */
@Module({})
export class AppConfigModule {
  static forApp<T extends object>(schema: new () => T): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [ConfigModule.forRoot({ isGlobal: true, cache: true, validate: validateEnv(schema) })],
      exports: [ConfigModule],
    };
  }
}
