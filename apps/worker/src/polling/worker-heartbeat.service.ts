import { pollingKeys, WORKER_HEARTBEAT_MS, WORKER_HEARTBEAT_TTL_MS, WorkerHeartbeat } from '@app/contracts';
import { CommonEnv } from '@app/config';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { POLLING_REDIS } from './polling-redis.provider';
import { ScheduledPollService } from './scheduled-poll.service';

/** Workers silent for longer than this are pruned from the registry set. */
const PRUNE_AFTER_MS = 60_000;

/**
 * Tells the api this worker is alive and how busy it is: every 2 s a key with a 10 s TTL
 * (`…:polling:worker:<id>`, JSON WorkerHeartbeat) and its id in the `…:polling:workers` sorted set.
 * A killed worker simply stops beating and drops out of the live count within the TTL.
 */
@Injectable()
export class WorkerHeartbeatService {
  private readonly logger = new Logger(WorkerHeartbeatService.name);
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly keys: ReturnType<typeof pollingKeys>;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;
  private failing = false;

  constructor(
    @Inject(POLLING_REDIS) private readonly redis: Redis,
    private readonly polls: ScheduledPollService,
    private readonly env: CommonEnv,
  ) {
    this.keys = pollingKeys(env.QUEUE_PREFIX);
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), WORKER_HEARTBEAT_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis
      .multi()
      .del(this.keys.worker(this.workerId))
      .zrem(this.keys.workers, this.workerId)
      .exec()
      .catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const heartbeat: WorkerHeartbeat = {
      workerId: this.workerId,
      pid: process.pid,
      host: hostname(),
      activePolls: this.polls.activePolls,
      maxConcurrentPolls: this.polls.maxConcurrentPolls,
      meterTimeoutMs: this.env.METER_TIMEOUT_MS,
      intervalMs: this.polls.intervalMs,
      startedAt: this.startedAt,
      beatAt: new Date(now).toISOString(),
    };
    try {
      await this.redis
        .multi()
        .set(this.keys.worker(this.workerId), JSON.stringify(heartbeat), 'PX', WORKER_HEARTBEAT_TTL_MS)
        .zadd(this.keys.workers, now, this.workerId)
        .zremrangebyscore(this.keys.workers, '-inf', now - PRUNE_AFTER_MS)
        .exec();
      if (this.failing) this.logger.log('heartbeat restored');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
