import { QUEUES } from '@app/contracts';
import { OutageLog, PG_POOL } from '@app/database';
import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { LOGIN_THROTTLE_REDIS } from '../auth/auth.module';

/**
 * Each check answers within this time even when a dependency hangs (accepts connections, never answers),
 * so that readiness as a whole answers within ~1 s.
 */
export const DEPENDENCY_CHECK_TIMEOUT_MS = 800;

/** The readiness checks' keys; `queues` is BullMQ on Redis, so its failure names Redis. */
export type DependencyKey = 'database' | 'redis' | 'queues';

/**
 * What the api needs to serve: PostgreSQL (through the request pool), Redis (through the BullMQ producer
 * connection requests use) and the BullMQ queues it produces to. Also logs the queues' Redis outages once
 * each (BullMQ would print every reconnect error with its stack). From onModuleDestroy on, readiness says
 * the instance is stopping, so that a load balancer stops sending it requests.
 */
@Injectable()
export class DependencyChecks implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Redis');
  private queues: Queue[] = [];
  private loginThrottle?: Redis;
  private stopping = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly moduleRef: ModuleRef,
    private readonly indicator: HealthIndicatorService,
  ) {}

  onModuleInit(): void {
    try {
      this.loginThrottle = this.moduleRef.get<Redis>(LOGIN_THROTTLE_REDIS, { strict: false });
    } catch {
      // An application without logins (e.g. a test module) has no such connection.
    }
    this.queues = [QUEUES.POLL, QUEUES.COMMAND].map((name) =>
      this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }),
    );
    for (const queue of this.queues) {
      const outage = new OutageLog(this.logger, `Redis (queue ${queue.name})`);
      queue.on('error', (err: Error) => outage.failed(err));
      // The connection resolves once Redis first answers; only then is there a client to watch.
      queue.client.then(
        (client) => client.on('ready', () => outage.recovered()),
        (err: Error) => outage.failed(err),
      );
    }
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  database(): Promise<HealthIndicatorResult<'database'>> {
    return this.probe('database', async () => {
      await this.pool.query('select 1');
    });
  }

  /**
   * A read on the connection command requests use (it fails at once while Redis is down), and the login
   * throttle's connection, which reconnects on its own schedule: ready means logins work too.
   */
  redis(): Promise<HealthIndicatorResult<'redis'>> {
    return this.probe('redis', async () => {
      const queue = this.queues.find((q) => q.name === QUEUES.COMMAND)!;
      const client = await queue.client;
      if (client.status !== 'ready') throw new Error(`connection ${client.status}`);
      await client.hget(queue.keys.meta, 'version');
      const throttle = this.loginThrottle?.status;
      if (throttle && throttle !== 'ready') throw new Error(`login throttle connection ${throttle}`);
    });
  }

  queuesReachable(): Promise<HealthIndicatorResult<'queues'>> {
    return this.probe('queues', async () => {
      await Promise.all(this.queues.map((q) => q.getJobCounts('waiting')));
    });
  }

  private async probe<K extends DependencyKey>(
    key: K,
    check: () => Promise<void>,
  ): Promise<HealthIndicatorResult<K>> {
    const session = this.indicator.check(key);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${DEPENDENCY_CHECK_TIMEOUT_MS} ms`)),
        DEPENDENCY_CHECK_TIMEOUT_MS,
      );
    });
    const attempt = check();
    try {
      await Promise.race([attempt, deadline]);
      return session.up();
    } catch (err) {
      // A late rejection of the abandoned attempt must not go unhandled.
      attempt.catch(() => undefined);
      return session.down({ message: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}
