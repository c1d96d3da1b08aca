import type { ApiEnv } from '@app/config';
import { HttpException } from '@nestjs/common';
import { PushAuthenticator } from './push-authenticator';
import type { PushAdmission } from './push-redis';
import { PushSecretCipher } from './push-secret.cipher';
import { signPush } from './push-signature';
import { PUSH_SECRET_REFRESH_MIN_MS, PushTargets } from './push-targets';
import type { PushRepository, PushTarget } from './push.repository';

/**
 * The secret cache's rotation story (docs/push.md): cached secrets save a statement per push; the instance
 * that rotates forgets at once; a new secret rotated elsewhere works at once (a failed check reads the meter
 * again, at most once a second); unknown meters and meters without a secret are not cached.
 */
describe('push authentication with cached secrets', () => {
  const env = { PUSH_SECRET_KEY: 'ab'.repeat(32), PUSH_SECRET_CACHE_SIZE: 100 } as ApiEnv;
  const cipher = new PushSecretCipher(env);
  const body = Buffer.from('{"meterNumber":"M-1","timestamp":"2026-01-01T00:00:00Z"}');
  let stored: Record<string, string | null>;
  let lookups: string[][];
  let authenticator: PushAuthenticator;
  let targets: PushTargets;

  beforeEach(() => {
    stored = { 'M-1': cipher.encrypt('old-secret') };
    lookups = [];
    const repository = {
      findTargets: (numbers: readonly string[]) => {
        lookups.push([...numbers]);
        return Promise.resolve(
          numbers
            .filter((n) => n in stored)
            .map((n): PushTarget => ({ id: `id-${n}`, meterNumber: n, areaId: 'a', secret: stored[n] })),
        );
      },
    } as unknown as PushRepository;
    targets = new PushTargets(repository, cipher, env);
    const admission = { admit: () => Promise.resolve('ok') } as unknown as PushAdmission;
    authenticator = new PushAuthenticator(targets, admission);
  });

  const pushSignedWith = (secret: string) =>
    authenticator.authenticate(signPush(secret, body), body, { meterNumber: 'M-1' });
  const statusOf = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (err: HttpException) => err.getStatus(),
    );

  it('reads a meter once, then verifies its pushes from the cache', async () => {
    expect((await pushSignedWith('old-secret')).id).toBe('id-M-1');
    expect((await pushSignedWith('old-secret')).id).toBe('id-M-1');
    expect(lookups).toEqual([['M-1']]);
  });

  it('looks the pushes arriving together up with one statement', async () => {
    stored['M-2'] = cipher.encrypt('s2');
    await Promise.all([targets.find('M-1'), targets.find('M-2'), targets.find('M-1')]);
    expect(lookups).toEqual([['M-1', 'M-2']]);
  });

  it('rotation here: the old secret stops working at once, the new one works', async () => {
    await pushSignedWith('old-secret');
    stored['M-1'] = cipher.encrypt('new-secret');
    targets.forget('M-1');
    expect(await statusOf(pushSignedWith('old-secret'))).toBe(401);
    expect(await statusOf(pushSignedWith('new-secret'))).toBe(200);
  });

  it('rotation through another instance: the new secret works once the cached entry is a second old', async () => {
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      await pushSignedWith('old-secret');
      stored['M-1'] = cipher.encrypt('new-secret');
      // A fresh entry is not read again for every bad signature (nothing to hammer PostgreSQL with).
      expect(await statusOf(pushSignedWith('new-secret'))).toBe(401);
      expect(lookups).toHaveLength(1);
      spy.mockReturnValue(now + PUSH_SECRET_REFRESH_MIN_MS);
      expect(await statusOf(pushSignedWith('new-secret'))).toBe(200);
      expect(lookups).toHaveLength(2);
      // Read again, the cache now holds the new secret: the old one is refused here too.
      expect(await statusOf(pushSignedWith('old-secret'))).toBe(401);
    } finally {
      spy.mockRestore();
    }
  });

  it('does not cache unknown meters nor meters without a secret', async () => {
    stored['M-1'] = null;
    expect(await statusOf(pushSignedWith('old-secret'))).toBe(401);
    stored['M-1'] = cipher.encrypt('old-secret');
    expect(await statusOf(pushSignedWith('old-secret'))).toBe(200);
    expect(lookups).toHaveLength(2);
  });
});
