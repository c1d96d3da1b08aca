'use strict';
/** Applies the committed SQL migrations (libs/database/migrations) with Drizzle's migrator, one process at a time. */
const path = require('node:path');

const MIGRATIONS_FOLDER = path.resolve(__dirname, '..', '..', 'libs', 'database', 'migrations');
const MIGRATION_LOCK_ID = 7_243_001;

async function migrate(databaseUrl) {
  const { Client } = require('pg');
  const { drizzle } = require('drizzle-orm/node-postgres');
  const { migrate: drizzleMigrate } = require('drizzle-orm/node-postgres/migrator');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await drizzleMigrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await client.end();
  }
}

module.exports = { migrate, MIGRATIONS_FOLDER };
