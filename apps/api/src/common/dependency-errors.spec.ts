import { freeLoopbackPort } from '@app/testing';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import { unavailableDependency } from './dependency-errors';

/** The errors are produced by the real drivers against a real (or absent) server. */
describe('which dependency an error says is unavailable', () => {
  const rejection = async (run: () => Promise<unknown>): Promise<unknown> => {
    try {
      await run();
    } catch (err) {
      return err;
    }
    throw new Error('expected a rejection');
  };

  it('a refused PostgreSQL connection, bare or wrapped by Drizzle, names the database', async () => {
    const port = await freeLoopbackPort();
    const pool = new Pool({ connectionString: `postgres://hes@127.0.0.1:${port}/hes`, max: 1 });
    try {
      const bare = await rejection(() => pool.query('select 1'));
      const wrapped = await rejection(() => drizzle(pool).execute(sql`select 1`));
      expect(unavailableDependency(bare, { database: port, redis: 6379 })).toBe('database');
      expect(unavailableDependency(wrapped, { database: port, redis: 6379 })).toBe('database');
    } finally {
      await pool.end();
    }
  });

  it('a connection terminated by the server (57P01, as in a fast restart) names the database', async () => {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    client.on('error', () => undefined);
    await client.connect();
    const err = await rejection(() => client.query('select pg_terminate_backend(pg_backend_pid())'));
    await client.end().catch(() => undefined);
    expect(unavailableDependency(err)).toBe('database');
  });

  it('a command on a Redis connection that is down names Redis', async () => {
    const port = await freeLoopbackPort();
    const redis = new Redis(`redis://127.0.0.1:${port}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const err = await rejection(() => redis.get('x'));
    redis.disconnect();
    expect(unavailableDependency(err)).toBe('redis');
  });

  it('errors that are not outages name nothing (they stay 4xx/500)', async () => {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    const syntax = await rejection(() => client.query('select from where'));
    await client.end();
    expect(unavailableDependency(syntax)).toBeNull();
    expect(unavailableDependency(new Error('boom'))).toBeNull();
    expect(unavailableDependency(undefined)).toBeNull();
  });
});
