import Redis from 'ioredis';
import { Client } from 'pg';

export default async function globalTeardown(): Promise<void> {
  const baseDb = process.env.HES_BASE_DATABASE_URL;
  const dbName = process.env.HES_TEST_DB_NAME;
  const baseRedis = process.env.HES_BASE_REDIS_URL;
  const redisDb = process.env.HES_TEST_REDIS_DB;
  if (baseRedis && redisDb) {
    const redis = new Redis(baseRedis, { db: Number(redisDb) });
    await redis.flushdb().catch(() => undefined);
    await redis.select(0);
    await redis.del(`hes-test:redis-db-claim:${redisDb}`);
    redis.disconnect();
  }
  if (baseDb && dbName) {
    const admin = new Client({ connectionString: baseDb });
    await admin.connect();
    await admin.query(`drop database if exists "${dbName}" with (force)`).catch(() => undefined);
    await admin.end();
  }
  const services = (globalThis as Record<string, unknown>).__HES_SERVICES__ as
    { stop(): Promise<void> } | undefined;
  await services?.stop();
}
