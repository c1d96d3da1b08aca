import { Logger } from '@nestjs/common';
import { Pool, PoolConfig } from 'pg';
import { OutageLog } from './outage-log';

export interface PgPoolSettings {
  connectionString: string;
  max: number;
  connectionTimeoutMillis: number;
  applicationName: string;
}

/**
 * A pg Pool that survives PostgreSQL going away. pg emits 'error' on the pool when an idle client's
 * connection dies (a restart, a failover, an idle timeout on the server); without a listener that event
 * kills the process. Here it is logged once per outage, and the dead client is already discarded by
 * pg: the next query opens a new connection. `connectionTimeoutMillis` bounds every wait for a
 * connection, so requests fail fast (and the api answers 503) instead of hanging while PostgreSQL is down.
 */
export function createPgPool(settings: PgPoolSettings, logger = new Logger('PostgreSQL')): Pool {
  const config: PoolConfig = {
    connectionString: settings.connectionString,
    max: settings.max,
    connectionTimeoutMillis: settings.connectionTimeoutMillis,
    application_name: settings.applicationName,
    // Detects a peer that vanished without closing the connection (host down, network cut).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const pool = new Pool(config);
  const outage = new OutageLog(logger, 'PostgreSQL');
  pool.on('error', (err: Error) => outage.failed(err));
  pool.on('connect', () => outage.recovered());
  return pool;
}
