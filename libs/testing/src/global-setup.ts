/**
 * Jest global setup: makes sure PostgreSQL and Redis answer (starting local ones when needed), then gives
 * this run its own database (migrated) and its own Redis logical database, so that concurrent runs on one
 * machine never see each other's rows, queues or events. The choices travel to test files through env.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureServices } = require('../../../scripts/lib/services');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { migrate } = require('../../../scripts/lib/migrate');

const REDIS_DB_CLAIM_TTL_S = 3 * 3600;

async function claimRedisDb(baseUrl: string): Promise<number> {
  const redis = new Redis(baseUrl, { db: 0 });
  try {
    for (let db = 1; db <= 15; db++) {
      if (
        await redis.set(
          `hes-test:redis-db-claim:${db}`,
          String(process.pid),
          'EX',
          REDIS_DB_CLAIM_TTL_S,
          'NX',
        )
      ) {
        return db;
      }
    }
    throw new Error('all 15 test Redis databases are claimed (keys hes-test:redis-db-claim:* in db 0)');
  } finally {
    redis.disconnect();
  }
}

export default async function globalSetup(): Promise<void> {
  const services = await ensureServices({ quiet: true });
  (globalThis as Record<string, unknown>).__HES_SERVICES__ = services;

  const dbName = `hes_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: services.databaseUrl });
  await admin.connect();
  await admin.query(`create database "${dbName}"`);
  await admin.end();
  const testDbUrl = new URL(services.databaseUrl);
  testDbUrl.pathname = `/${dbName}`;
  await migrate(testDbUrl.toString());

  const redisDb = await claimRedisDb(services.redisUrl);
  const redisUrl = new URL(services.redisUrl);
  redisUrl.pathname = `/${redisDb}`;
  const redis = new Redis(redisUrl.toString());
  await redis.flushdb();
  redis.disconnect();

  process.env.HES_BASE_DATABASE_URL = services.databaseUrl;
  process.env.HES_BASE_REDIS_URL = services.redisUrl;
  process.env.HES_TEST_DB_NAME = dbName;
  process.env.HES_TEST_REDIS_DB = String(redisDb);
  process.env.DATABASE_URL = testDbUrl.toString();
  process.env.REDIS_URL = redisUrl.toString();
  process.env.NODE_ENV = 'test';
}
