import { ApiEnv, WorkerEnv } from './env';
import { ConfigValidationError, validateEnv } from './validate-env';

const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/hes', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('validateEnv', () => {
  it('applies defaults and converts numbers', () => {
    const env = validateEnv(WorkerEnv)({ ...base, METER_TIMEOUT_MS: '2500' });
    expect(env.METER_TIMEOUT_MS).toBe(2500);
    expect(env.METER_POLLING_INTERVAL).toBe(60000);
    expect(env.METER_HTTP_CLIENT).toBe('undici');
  });

  it('lists every problem at once', () => {
    try {
      validateEnv(WorkerEnv)({ DATABASE_URL: 'mysql://x', METER_POLLING_INTERVAL: '10' });
      throw new Error('expected a ConfigValidationError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigValidationError);
      const { problems } = err as ConfigValidationError;
      expect(problems.some((p) => p.startsWith('DATABASE_URL'))).toBe(true);
      expect(problems.some((p) => p.startsWith('REDIS_URL'))).toBe(true);
      expect(problems.some((p) => p.startsWith('METER_POLLING_INTERVAL'))).toBe(true);
    }
  });

  it('refuses a short JWT secret in production but accepts it in development', () => {
    expect(() => validateEnv(ApiEnv)({ ...base, JWT_SECRET: 'short', NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET/,
    );
    expect(validateEnv(ApiEnv)({ ...base, JWT_SECRET: 'short', NODE_ENV: 'development' }).JWT_SECRET).toBe(
      'short',
    );
    expect(() => validateEnv(ApiEnv)({ ...base, NODE_ENV: 'development' })).toThrow(/JWT_SECRET/);
  });
});
