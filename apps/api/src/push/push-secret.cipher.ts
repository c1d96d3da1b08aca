import { ApiEnv } from '@app/config';
import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Push secrets at rest: AES-256-GCM with PUSH_SECRET_KEY (or a key derived from JWT_SECRET when unset).
 * HMAC verification needs the secret itself, so it cannot be hashed; a database dump alone reveals none.
 */
@Injectable()
export class PushSecretCipher {
  private readonly key: Buffer;

  constructor(env: ApiEnv) {
    this.key = env.PUSH_SECRET_KEY
      ? Buffer.from(env.PUSH_SECRET_KEY, 'hex')
      : Buffer.from(hkdfSync('sha256', env.JWT_SECRET, 'smart-hes', 'push-secret-encryption', 32));
  }

  /** A new secret for a meter: 32 random bytes, hex. */
  static generate(): string {
    return randomBytes(32).toString('hex');
  }

  encrypt(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      data.toString('base64'),
    ].join('.');
  }

  /** The secret, or null when it was encrypted with another key (the key changed: rotate the secret). */
  decrypt(stored: string): string | null {
    const [version, iv, tag, data] = stored.split('.');
    if (version !== VERSION || !iv || !tag || !data) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
