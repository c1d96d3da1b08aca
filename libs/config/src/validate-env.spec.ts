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

  describe('production refuses guessable secrets at boot, naming each one', () => {
    const strong = 'Zq4r9LxT2vN8bW1kP6sY3hJ7mC0dF5gA-_x';
    const problems = (env: Record<string, string>): string[] => {
      try {
        validateEnv(ApiEnv)({ ...base, NODE_ENV: 'production', JWT_SECRET: strong, ...env });
        return [];
      } catch (err) {
        return (err as ConfigValidationError).problems;
      }
    };

    it.each([
      ['a short secret', 'x'.repeat(20)],
      ['a repeated pattern', 'ab'.repeat(20)],
      ['a placeholder', 'change-me'],
      ['an example value', 'this-is-an-example-secret-for-the-readme-only'],
      ['the test suite secret', 'test-jwt-secret-that-is-long-enough-0123456789'],
    ])('JWT_SECRET: %s', (_what, secret) => {
      expect(problems({ JWT_SECRET: secret })).toEqual([
        expect.stringMatching(/^JWT_SECRET: must be at least 32 random/),
      ]);
    });

    it.each([
      ['short', 'pw-1234567'],
      ['a placeholder', 'changeme'],
      ['containing the username', 'admin-2026-summer!'],
    ])('ADMIN_PASSWORD: %s', (_what, password) => {
      expect(problems({ ADMIN_PASSWORD: password })).toEqual([
        expect.stringMatching(/^ADMIN_PASSWORD: must be at least 12/),
      ]);
    });

    it('accepts strong values, and an unset ADMIN_PASSWORD', () => {
      expect(problems({ ADMIN_PASSWORD: 'k7-Vt9q!rW2zLm' })).toEqual([]);
      expect(problems({})).toEqual([]);
    });
  });

  describe('TRUST_PROXY', () => {
    const env = (value?: string) =>
      validateEnv(ApiEnv)({
        ...base,
        NODE_ENV: 'test',
        JWT_SECRET: 's',
        ...(value ? { TRUST_PROXY: value } : {}),
      });

    it('is a hop count, a list of proxies, or off', () => {
      expect(env().trustProxy).toBe(false);
      expect(env('1').trustProxy).toBe(1);
      expect(env('10.0.0.0/8, loopback,::1').trustProxy).toEqual(['10.0.0.0/8', 'loopback', '::1']);
    });

    it.each(['yes', '999.1.1.1', '10.0.0.0/33', 'true'])('refuses %p', (value) => {
      expect(() => env(value)).toThrow(/TRUST_PROXY/);
    });
  });
});
