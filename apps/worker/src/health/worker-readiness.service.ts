import { PG_POOL } from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { CommandProcessor } from '../commands/command.processor';
import { PollQueueWorker } from '../polling/poll-queue.worker';
import { POLLING_REDIS } from '../polling/polling-redis.provider';

/** Each check answers within this time even when a dependency hangs, so readiness answers within ~1 s. */
export const READINESS_CHECK_TIMEOUT_MS = 800;

export type ReadinessPart = 'database' | 'redis' | 'pollWorker' | 'commandWorker';

export interface Readiness {
  ready: boolean;
  /** 'up', or why the part is not. */
  checks: Record<ReadinessPart, string>;
}

/**
 * Whether this worker can do its job: PostgreSQL answers, Redis is connected (the polling connection:
 * locks, heartbeats; BullMQ's connections fail together with it), and both processors take jobs. From
 * shutdown on, not ready, so an orchestrator stops counting on this instance.
 */
@Injectable()
export class WorkerReadiness {
  private stopping = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(POLLING_REDIS) private readonly redis: Redis,
    private readonly polls: PollQueueWorker,
    private readonly commands: CommandProcessor,
  ) {}

  stop(): void {
    this.stopping = true;
  }

  async check(): Promise<Readiness> {
    const [database, redis] = await Promise.all([
      probe(async () => {
        await this.pool.query('select 1');
      }),
      probe(async () => {
        // A command would wait in ioredis's offline queue while Redis is away: answer at once instead.
        if (this.redis.status !== 'ready') throw new Error(`connection ${this.redis.status}`);
        await this.redis.ping();
      }),
    ]);
    const checks: Record<ReadinessPart, string> = {
      database,
      redis,
      pollWorker: this.stopping ? 'shutting down' : this.polls.running ? 'up' : 'not running',
      commandWorker: this.stopping
        ? 'shutting down'
        : this.commands.worker?.isRunning()
          ? 'up'
          : 'not running',
    };
    return { ready: Object.values(checks).every((v) => v === 'up'), checks };
  }
}

async function probe(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const attempt = check();
  try {
    await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READINESS_CHECK_TIMEOUT_MS} ms`)),
          READINESS_CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return 'up';
  } catch (err) {
    // A late rejection of the abandoned attempt must not go unhandled.
    attempt.catch(() => undefined);
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}
