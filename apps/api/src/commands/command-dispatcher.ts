import { ApiEnv } from '@app/config';
import { QUEUES, type ReadCommandPayload, type WriteCommandPayload } from '@app/contracts';
import { InjectQueue } from '@nestjs/bullmq';
import {
  GatewayTimeoutException,
  Injectable,
  InternalServerErrorException,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import { unavailableDependency } from '../common/dependency-errors';
import { CommandQueueEvents, COMMAND_JOB_RETENTION, commandDeadlines } from './command-queue';
import { CommandsRepository } from './commands.repository';

/**
 * Commands one api instance waits for at once. Beyond it new commands are refused with 503 rather than
 * piling up open requests and QueueEvents listeners; workers process 20 per process anyway.
 */
export const MAX_COMMANDS_IN_FLIGHT = 500;

class CommandWaitTimeout extends Error {}

/**
 * The queue request/response of one command: puts the job on the command queue (processed by workers
 * apart from scheduled polls), waits for its result on the instance's shared QueueEvents, within the
 * in-flight cap. A command that ends without a result is marked failed in its record here.
 */
@Injectable()
export class CommandDispatcher {
  private readonly logger = new Logger(CommandDispatcher.name);
  private readonly meterTimeoutMs: number;
  private inFlight = 0;

  constructor(
    @InjectQueue(QUEUES.COMMAND) private readonly queue: Queue,
    private readonly events: CommandQueueEvents,
    private readonly repository: CommandsRepository,
    env: ApiEnv,
  ) {
    this.meterTimeoutMs = env.METER_TIMEOUT_MS;
    // Every waiting command listens for the queue closing.
    this.queue.setMaxListeners(MAX_COMMANDS_IN_FLIGHT + 10);
  }

  /** The deadlines of a command issued now (`notAfter` goes into its payload). */
  deadlines(): { notAfter: number; waitMs: number } {
    return commandDeadlines(this.meterTimeoutMs);
  }

  /** Enqueues one command and waits for the worker's answer; attempts 1: a write is never retried blindly. */
  async run<R>(
    name: string,
    payload: ReadCommandPayload | WriteCommandPayload,
    commandId: string,
    waitMs: number,
    meterNumber: string,
  ): Promise<R> {
    if (this.inFlight >= MAX_COMMANDS_IN_FLIGHT) {
      await this.repository.failIfPending(
        commandId,
        'refused: too many commands in flight on this api instance',
      );
      throw new ServiceUnavailableException('Too many meter commands in flight; try again shortly');
    }
    this.inFlight++;
    try {
      return await this.enqueueAndWait<R>(name, payload, commandId, waitMs, meterNumber);
    } finally {
      this.inFlight--;
    }
  }

  private async enqueueAndWait<R>(
    name: string,
    payload: ReadCommandPayload | WriteCommandPayload,
    commandId: string,
    waitMs: number,
    meterNumber: string,
  ): Promise<R> {
    const job = await this.queue.add(name, payload, {
      jobId: commandId,
      attempts: 1,
      ...COMMAND_JOB_RETENTION,
    });
    try {
      return (await job.waitUntilFinished(this.events.queueEvents, waitMs).catch((err: Error) => {
        throw /timed out before finishing/.test(err.message) ? new CommandWaitTimeout(err.message) : err;
      })) as R;
    } catch (err) {
      if (err instanceof CommandWaitTimeout) {
        await this.repository.failIfPending(commandId, `no result within ${waitMs} ms`);
        throw new GatewayTimeoutException(
          `Meter ${meterNumber}: the command did not complete within ${waitMs} ms; ` +
            `its outcome will appear in the meter's command history`,
        );
      }
      // Redis (or PostgreSQL) went away while we waited: the filter answers 503 naming it; the sweeper
      // completes the command record once the worker's result is known to be lost.
      if (unavailableDependency(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.error(
        `${name} command ${commandId} on meter ${meterNumber} failed in the worker: ${reason}`,
      );
      await this.repository.failIfPending(commandId, `worker error: ${reason}`);
      throw new InternalServerErrorException(`The ${name} command failed in the worker: ${reason}`);
    }
  }
}
