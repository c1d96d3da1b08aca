import { CommonEnv } from '@app/config';
import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { drizzle, NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Pool } from 'pg';
import { createPgPool } from './pg-pool';
import * as schema from './schema';

export const PG_POOL = Symbol('PG_POOL');
export const DRIZZLE = Symbol('DRIZZLE');
export type Database = NodePgDatabase<typeof schema>;

/**
 * Ends the pool in the last shutdown phase. This module is global, and Nest runs the shutdown hooks of
 * global modules after those of every feature module: processors, publishers and request handlers have
 * finished with PostgreSQL by then.
 */
@Injectable()
class PoolCloser implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}
  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/**
 * Provides the pg pool (PG_POOL) and the Drizzle handle (DRIZZLE) from DATABASE_URL, DATABASE_POOL_SIZE and
 * DATABASE_CONNECT_TIMEOUT_MS; the pool survives PostgreSQL restarts (see createPgPool).
 */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [CommonEnv],
      useFactory: (env: CommonEnv) =>
        createPgPool({
          connectionString: env.DATABASE_URL,
          max: env.DATABASE_POOL_SIZE,
          connectionTimeoutMillis: env.DATABASE_CONNECT_TIMEOUT_MS,
          applicationName: 'smart-hes',
        }),
    },
    { provide: DRIZZLE, inject: [PG_POOL], useFactory: (pool: Pool) => drizzle(pool, { schema }) },
    PoolCloser,
  ],
  exports: [PG_POOL, DRIZZLE],
})
export class DatabaseModule {}
