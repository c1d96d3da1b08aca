import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => Object.values(e.constraints ?? {}).map((msg) => `${e.property}: ${msg}`));
}

/**
 * Builds the `validate` function for ConfigModule.forRoot: converts the raw environment into the app's
 * schema class (defaults included) and fails fast with every problem listed at once.
 */
export function validateEnv<T extends object>(schema: new () => T) {
  return (raw: Record<string, unknown>): T => {
    const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
    const env = plainToInstance(schema, cleaned, {
      enableImplicitConversion: true,
      exposeDefaultValues: true,
    });
    const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
    const problems = describe(errors);
    const crossFieldProblem = (env as { crossFieldProblems?: () => string[] }).crossFieldProblems?.();
    if (crossFieldProblem) problems.push(...crossFieldProblem);
    if (problems.length) throw new ConfigValidationError(problems);
    return env;
  };
}
