import { Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { UsersService } from '../apps/api/src/users/users.service';
import {
  adminToken,
  createScratchDatabase,
  createTestApi,
  createUser,
  loginAs,
  TEST_JWT_SECRET,
  TestApi,
} from '@app/testing';

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('auth', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api?.close());

  const me = (token: string) =>
    request(api.server).get('/api/auth/me').set('Authorization', `Bearer ${token}`);

  describe('POST /api/auth/login', () => {
    it('returns a token and the user (without the password hash)', async () => {
      const res = await request(api.server)
        .post('/api/auth/login')
        .send({ username: api.env.ADMIN_USERNAME, password: api.env.ADMIN_PASSWORD });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.data.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(res.body.data.user).toMatchObject({
        username: api.env.ADMIN_USERNAME,
        role: 'admin',
        isActive: true,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
      const header = JSON.parse(Buffer.from(res.body.data.token.split('.')[0], 'base64url').toString());
      expect(header.alg).toBe('HS256');
      expect((await me(res.body.data.token)).status).toBe(200);
    });

    it('refuses a wrong password and an unknown user with the same 401', async () => {
      const wrong = await request(api.server)
        .post('/api/auth/login')
        .send({ username: api.env.ADMIN_USERNAME, password: 'not-the-password' });
      const unknown = await request(api.server)
        .post('/api/auth/login')
        .send({ username: 'nobody-here', password: 'whatever1' });
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.body).toEqual({
          success: false,
          message: 'Invalid username or password',
          error: 'Unauthorized',
        });
      }
    });

    it('validates the body (missing fields, unknown fields such as a role → 400)', async () => {
      const missing = await request(api.server).post('/api/auth/login').send({ username: 'admin' });
      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/password/);
      const withRole = await request(api.server)
        .post('/api/auth/login')
        .send({ username: 'admin', password: api.env.ADMIN_PASSWORD, role: 'admin' });
      expect(withRole.status).toBe(400);
      expect(withRole.body.message).toMatch(/property role should not exist/);
    });
  });

  describe('GET /api/auth/me', () => {
    it('returns the caller for every role', async () => {
      for (const role of ['admin', 'operator', 'viewer'] as const) {
        const res = await me(await loginAs(api, role));
        expect(res.status).toBe(200);
        expect(res.body.data.role).toBe(role);
        expect(res.body.data.passwordHash).toBeUndefined();
      }
    });

    it('refuses a missing token and malformed Authorization headers with 401', async () => {
      const none = await request(api.server).get('/api/auth/me');
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ success: false, error: 'Unauthorized' });
      for (const header of ['Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer a b', 'Token abc.def.ghi']) {
        const res = await request(api.server).get('/api/auth/me').set('Authorization', header);
        expect(res.status).toBe(401);
      }
      expect((await me('not-a-jwt')).status).toBe(401);
      expect((await me('aaa.bbb.ccc')).status).toBe(401);
    });

    it('refuses forged, expired, alg-none and tampered tokens with 401', async () => {
      const user = (await me(await adminToken(api))).body.data;
      const claims = { sub: user.id, username: user.username, role: 'admin' };

      const forged = new JwtService({ secret: 'another-secret-of-sufficient-length-000000' }).sign(claims);
      const forgedRes = await me(forged);
      expect(forgedRes.status).toBe(401);
      expect(forgedRes.body.message).toBe('Invalid token');

      const expired = new JwtService({ secret: TEST_JWT_SECRET }).sign({
        ...claims,
        iat: Math.floor(Date.now() / 1000) - 7200,
        exp: Math.floor(Date.now() / 1000) - 3600,
      });
      const expiredRes = await me(expired);
      expect(expiredRes.status).toBe(401);
      expect(expiredRes.body).toEqual({ success: false, message: 'Token expired', error: 'Unauthorized' });

      const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      expect((await me(none)).status).toBe(401);

      const hs512 = new JwtService({ secret: TEST_JWT_SECRET }).sign(claims, { algorithm: 'HS512' });
      expect((await me(hs512)).status).toBe(401);

      // A viewer token whose payload was edited to say admin: the signature no longer matches.
      const viewer = await loginAs(api, 'viewer');
      const [h, p, s] = viewer.split('.');
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
      const tampered = `${h}.${b64url({ ...payload, role: 'admin' })}.${s}`;
      expect((await me(tampered)).status).toBe(401);

      // Properly signed but for a user that does not exist.
      const ghost = new JwtService({ secret: TEST_JWT_SECRET }).sign({
        ...claims,
        sub: '00000000-0000-4000-8000-000000000000',
      });
      expect((await me(ghost)).status).toBe(401);
    });

    it('refuses a deactivated user: the still-valid token and new logins', async () => {
      const user = await createUser(api, 'operator');
      expect((await me(user.token)).status).toBe(200);
      const patch = await request(api.server)
        .patch(`/api/users/${user.id}`)
        .set('Authorization', `Bearer ${await adminToken(api)}`)
        .send({ isActive: false });
      expect(patch.status).toBe(200);
      const res = await me(user.token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ success: false, message: 'User is deactivated', error: 'Unauthorized' });
      const login = await request(api.server)
        .post('/api/auth/login')
        .send({ username: user.username, password: user.password });
      expect(login.status).toBe(401);
    });

    it('ends existing tokens at a role change; a new login gets the new role', async () => {
      const user = await createUser(api, 'operator');
      const area = `A${Date.now().toString(36)}`;
      const create = () =>
        request(api.server)
          .post('/api/areas')
          .set('Authorization', `Bearer ${user.token}`)
          .send({ name: `Role change ${area}`, code: area });
      await request(api.server)
        .patch(`/api/users/${user.id}`)
        .set('Authorization', `Bearer ${await adminToken(api)}`)
        .send({ role: 'viewer' })
        .expect(200);
      expect((await create()).status).toBe(401);
      expect((await me(user.token)).body).toMatchObject({ success: false, message: 'Token revoked' });
      const again = await request(api.server)
        .post('/api/auth/login')
        .send({ username: user.username, password: user.password })
        .expect(200);
      expect((await me(again.body.data.token)).body.data.role).toBe('viewer');
    });
  });

  describe('login rate limit', () => {
    // Each test its own QUEUE_PREFIX: the attempts of other tests in this Redis database do not count.
    const limitedApi = (env: Record<string, string>) =>
      createTestApi({ QUEUE_PREFIX: `hes-login-limit-${Date.now()}-${Math.random()}`, ...env });
    const attempt = (api: TestApi, username: string, forwardedFor?: string) => {
      const req = request(api.server).post('/api/auth/login');
      if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
      return req.send({ username, password: 'wrong-password' });
    };
    const expectLimited = (res: request.Response) => {
      expect(res.status).toBe(429);
      expect(res.body).toEqual({
        success: false,
        message: 'Too many login attempts; try again in a minute',
        error: 'Too Many Requests',
      });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    };

    it('refuses one username after LOGIN_RATE_LIMIT_PER_MINUTE attempts, counted across api instances', async () => {
      const env = { LOGIN_RATE_LIMIT_PER_MINUTE: '3', LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '100' };
      const limited = await limitedApi(env);
      const other = await createTestApi({ ...env, QUEUE_PREFIX: limited.env.QUEUE_PREFIX });
      try {
        expect((await attempt(limited, 'admin')).status).toBe(401);
        expect((await attempt(other, 'admin')).status).toBe(401);
        expect((await attempt(limited, 'ADMIN')).status).toBe(401);
        expectLimited(await attempt(other, 'admin'));
        // Even the right password is refused while limited...
        const right = await request(limited.server)
          .post('/api/auth/login')
          .send({ username: 'admin', password: limited.env.ADMIN_PASSWORD });
        expect(right.status).toBe(429);
        // ...but another username from the same address is not.
        expect((await attempt(limited, 'someone-else')).status).toBe(401);
      } finally {
        await Promise.all([limited.close(), other.close()]);
      }
    });

    it('refuses password spraying: 40 usernames from one address are refused past the address limit, before any hash is computed', async () => {
      const limited = await limitedApi({ LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '10' });
      const hashes = jest.spyOn(UsersService.prototype, 'burnPasswordCheck');
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) {
          const res = await attempt(limited, `sprayed-user-${i}`);
          statuses.push(res.status);
          if (res.status === 429) expectLimited(res);
        }
        expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(401));
        expect(statuses.slice(10)).toEqual(new Array(30).fill(429));
        // Only the 10 admitted attempts cost a password hash.
        expect(hashes).toHaveBeenCalledTimes(10);
      } finally {
        hashes.mockRestore();
        await limited.close();
      }
    });

    it('behind a trusted proxy (TRUST_PROXY) counts the forwarded client address, and still limits one username from many addresses', async () => {
      const limited = await limitedApi({
        TRUST_PROXY: 'loopback',
        LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '5',
        LOGIN_RATE_LIMIT_PER_MINUTE: '3',
      });
      try {
        // Ten clients behind the proxy, one attempt each on its own username: no one is refused.
        for (let i = 0; i < 10; i++) {
          expect((await attempt(limited, `client-${i}`, `203.0.113.${i + 1}`)).status).toBe(401);
        }
        // One username from many addresses: refused past LOGIN_RATE_LIMIT_PER_MINUTE.
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          statuses.push((await attempt(limited, 'admin', `198.51.100.${i + 1}`)).status);
        }
        expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
        // One address with many usernames: refused past the address limit.
        const sprayed: number[] = [];
        for (let i = 0; i < 7; i++) sprayed.push((await attempt(limited, `spray-${i}`, '192.0.2.7')).status);
        expect(sprayed).toEqual([401, 401, 401, 401, 401, 429, 429]);
      } finally {
        await limited.close();
      }
    });

    it('without TRUST_PROXY ignores X-Forwarded-For: a client cannot pick a fresh address per attempt', async () => {
      const limited = await limitedApi({ LOGIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '5' });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
          statuses.push((await attempt(limited, `rotating-${i}`, `203.0.113.${i + 1}`)).status);
        }
        expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      } finally {
        await limited.close();
      }
    });
  });

  describe('initial admin', () => {
    it('is created at boot in development with a generated password printed once to standard output, never logged', async () => {
      const db = await createScratchDatabase();
      const logged: string[] = [];
      const spies = (['log', 'warn', 'error', 'debug', 'verbose'] as const).map((level) =>
        jest.spyOn(Logger.prototype, level).mockImplementation(function (this: Logger, ...args: unknown[]) {
          logged.push(args.map(String).join(' '));
        }),
      );
      const printed: string[] = [];
      const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
        printed.push(String(chunk));
        return true;
      });
      let fresh: TestApi | undefined;
      try {
        fresh = await createTestApi({
          DATABASE_URL: db.url,
          NODE_ENV: 'development',
          ADMIN_USERNAME: 'root-admin',
          ADMIN_PASSWORD: '',
        });
        stdout.mockRestore();
        const lines = printed
          .join('')
          .split('\n')
          .filter((l) => l.includes('generated password'));
        expect(lines).toHaveLength(1);
        const password = /generated password: (\S+)/.exec(lines[0])![1];
        expect(logged.some((l) => l.includes('root-admin'))).toBe(true);
        expect(logged.filter((l) => l.includes(password))).toEqual([]);
        const res = await request(fresh.server)
          .post('/api/auth/login')
          .send({ username: 'root-admin', password });
        expect(res.status).toBe(200);
        expect(res.body.data.user.role).toBe('admin');
      } finally {
        stdout.mockRestore();
        spies.forEach((spy) => spy.mockRestore());
        await fresh?.close();
      }
      // A second boot finds the admin and creates nothing.
      const again = await createTestApi({
        DATABASE_URL: db.url,
        ADMIN_USERNAME: 'other-admin',
        ADMIN_PASSWORD: 'pw-12345678',
      });
      try {
        const login = await request(again.server)
          .post('/api/auth/login')
          .send({ username: 'other-admin', password: 'pw-12345678' });
        expect(login.status).toBe(401);
      } finally {
        await again.close();
        await db.drop();
      }
    });

    it('is not made up in production: without ADMIN_PASSWORD no admin is created and the log says why', async () => {
      const db = await createScratchDatabase();
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const prod = await createTestApi({
        DATABASE_URL: db.url,
        NODE_ENV: 'production',
        JWT_SECRET: 'Zq4r9LxT2vN8bW1kP6sY3hJ7mC0dF5gA-_x',
        ADMIN_USERNAME: 'prod-admin',
        ADMIN_PASSWORD: '',
      });
      try {
        const line = warn.mock.calls.map((c) => String(c[0])).find((m) => m.includes('prod-admin'));
        expect(line).toMatch(/ADMIN_PASSWORD is not set: no admin was created/);
        const { Client } = await import('pg');
        const client = new Client({ connectionString: db.url });
        await client.connect();
        const { rowCount } = await client.query('select 1 from users');
        await client.end();
        expect(rowCount).toBe(0);
      } finally {
        warn.mockRestore();
        await prod.close();
        await db.drop();
      }
    });

    it('is created from ADMIN_USERNAME / ADMIN_PASSWORD', async () => {
      const db = await createScratchDatabase();
      const fresh = await createTestApi({
        DATABASE_URL: db.url,
        ADMIN_USERNAME: 'boss',
        ADMIN_PASSWORD: 'boss-password',
      });
      try {
        const res = await request(fresh.server)
          .post('/api/auth/login')
          .send({ username: 'boss', password: 'boss-password' });
        expect(res.status).toBe(200);
        expect(res.body.data.user.role).toBe('admin');
      } finally {
        await fresh.close();
        await db.drop();
      }
    });
  });
});
