import { freeLoopbackPort } from '@app/testing';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import Redis from 'ioredis';
import { createServer, connect, type Socket } from 'node:net';
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

  it('a connection reset in the middle of a query (a bare `read ECONNRESET`, no port) names the database', async () => {
    // A relay in front of the real server, so that the connection can be reset while a query runs.
    const target = new URL(process.env.DATABASE_URL!);
    const sockets: Socket[] = [];
    const relay = createServer((client) => {
      const server = connect(Number(target.port || 5432), target.hostname);
      sockets.push(client);
      client.pipe(server).pipe(client);
      server.on('error', () => client.destroy());
      client.on('error', () => server.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String((relay.address() as { port: number }).port);
    const client = new Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const running = rejection(() => client.query('select pg_sleep(5)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const s of sockets) s.resetAndDestroy();
      const err = (await running) as { code?: string; port?: number };
      expect(err.code).toBe('ECONNRESET');
      expect(err.port).toBeUndefined();
      expect(unavailableDependency(err, { database: Number(url.port), redis: 6379 })).toBe('database');
    } finally {
      await client.end().catch(() => undefined);
      await new Promise((resolve) => relay.close(resolve));
    }
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
