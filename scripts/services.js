#!/usr/bin/env node
'use strict';
/** npm run services — starts (or reuses) PostgreSQL and Redis, migrates, and keeps them up until Ctrl-C. */
const { ensureDependencies, ensureServices } = require('./lib/services');
const { migrate } = require('./lib/migrate');

(async () => {
  ensureDependencies();
  const services = await ensureServices();
  await migrate(services.databaseUrl);
  console.log(`DATABASE_URL=${services.databaseUrl}\nREDIS_URL=${services.redisUrl}\nPress Ctrl-C to stop.`);
  const shutdown = async () => {
    await services.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => undefined, 1 << 30);
})().catch((err) => {
  console.error(`services failed: ${err.stack || err.message}`);
  process.exit(1);
});
