import {
  COMMAND_JOBS,
  QUEUES,
  type ReadCommandPayload,
  type ReadCommandResult,
  type WriteCommandPayload,
  type WriteCommandResult,
} from '@app/contracts';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { jobLogger } from '@app/config';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ExchangeSlots } from '../polling/exchange-slots';
import { CommandExecutor } from './command-executor.service';

/**
 * Commands run on their own queue and worker with their own concurrency, so an on-demand read never
 * waits behind scheduled poll batches. maxStalledCount 0: a command whose worker died is failed, never
 * re-run (a write must not be repeated blindly); attempts is 1 for the same reason.
 */
export const COMMAND_CONCURRENCY = 20;

@Processor(QUEUES.COMMAND, { concurrency: COMMAND_CONCURRENCY, maxStalledCount: 0 })
export class CommandProcessor extends WorkerHost {
  private readonly logger = new Logger(CommandProcessor.name);

  constructor(
    private readonly executor: CommandExecutor,
    private readonly slots: ExchangeSlots,
  ) {
    super();
  }

  /** Redis going away is an 'error' event of the BullMQ worker: logged, never fatal (it reconnects). */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.warn(`command worker: ${err.message}`);
  }

  async process(
    job: Job<ReadCommandPayload | WriteCommandPayload>,
  ): Promise<ReadCommandResult | WriteCommandResult> {
    const logger = jobLogger(job, CommandProcessor.name);
    logger.debug(`${job.name} command ${job.data.commandId} started`);
    const operatorDone = this.slots.operatorFirst();
    try {
      switch (job.name) {
        case COMMAND_JOBS.READ:
          return await this.executor.read(job.data as ReadCommandPayload);
        case COMMAND_JOBS.WRITE:
          return await this.executor.write(job.data as WriteCommandPayload);
        default:
          throw new Error(`unknown command job '${job.name}'`);
      }
    } catch (err) {
      logger.error(`${job.name} command ${job.id} failed: ${(err as Error).message}`);
      await this.executor.failUnexpectedly(job.data.commandId, err);
      throw err;
    } finally {
      operatorDone();
    }
  }
}
