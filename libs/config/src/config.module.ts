import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CommonEnv } from './env';
import { validateEnv } from './validate-env';

/**
 * Loads and validates the environment once per app; boot fails with a readable list of problems.
 * The validated settings are injectable as the app's schema class (e.g. `WorkerEnv`) and as `CommonEnv`,
 * typed and with their defaults applied: inject those instead of reading `ConfigService` with a default.
 */
@Module({})
export class AppConfigModule {
  static forApp<T extends CommonEnv>(schema: new () => T): DynamicModule {
    let validated: T | undefined;
    const validate = (raw: Record<string, unknown>): T => (validated = validateEnv(schema)(raw));
    return {
      module: AppConfigModule,
      global: true,
      imports: [ConfigModule.forRoot({ isGlobal: true, cache: true, validate })],
      providers: [
        { provide: schema, useFactory: (): T => validated ?? validateEnv(schema)(process.env) },
        { provide: CommonEnv, useExisting: schema },
      ],
      exports: [ConfigModule, schema, CommonEnv],
    };
  }
}
