import { PushSecretCipher } from './push-secret.cipher';
import type { ApiEnv } from '@app/config';

describe('push secrets at rest', () => {
  const env = (over: Partial<ApiEnv>) => ({ JWT_SECRET: 'j'.repeat(40), ...over }) as ApiEnv;

  it('round-trips, never stores the secret in clear, and refuses another key', () => {
    const cipher = new PushSecretCipher(env({ PUSH_SECRET_KEY: '1'.repeat(64) }));
    const secret = PushSecretCipher.generate();
    const stored = cipher.encrypt(secret);
    expect(stored).not.toContain(secret);
    expect(cipher.encrypt(secret)).not.toBe(stored); // a fresh IV each time
    expect(cipher.decrypt(stored)).toBe(secret);
    expect(new PushSecretCipher(env({ PUSH_SECRET_KEY: '2'.repeat(64) })).decrypt(stored)).toBeNull();
    expect(new PushSecretCipher(env({})).decrypt(stored)).toBeNull();
    expect(cipher.decrypt('garbage')).toBeNull();
  });
});
