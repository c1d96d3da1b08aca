#!/usr/bin/env node
'use strict';
/** npm run db:migrate — applies migrations to DATABASE_URL (or to the local database it starts). */
const { ensureServices } = require('./lib/services');
const { migrate } = require('./lib/migrate');

(async () => {
  const services = process.env.DATABASE_URL ? null : await ensureServices();
  const url = process.env.DATABASE_URL;
  await migrate(url);
  console.log('migrations applied');
  await services?.stop();
})().catch((err) => {
  console.error(`db:migrate failed: ${err.message}`);
  process.exit(1);
});
