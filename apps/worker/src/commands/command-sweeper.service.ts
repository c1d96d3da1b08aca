import { CommonEnv } from '@app/config';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CommandAuditRepository } from './command-audit.repository';

const SWEEP_EVERY_MS = 60_000;

/**
 * Safety net for the audit trail: a command whose api and worker both vanished would stay 'pending'
 * forever. Anything pending well past the longest time an api waits (2 × METER_TIMEOUT_MS + slack) is
 * marked failed. Idempotent, so every worker may run it.
 */
@Injectable()
export class CommandSweeper implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CommandSweeper.name);
  private readonly abandonedAfterMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly audit: CommandAuditRepository,
    env: CommonEnv,
  ) {
    this.abandonedAfterMs = 2 * env.METER_TIMEOUT_MS + 60_000;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    try {
      const failed = await this.audit.failAbandoned(this.abandonedAfterMs);
      if (failed > 0) this.logger.warn(`${failed} abandoned command(s) marked failed`);
    } catch (err) {
      this.logger.error(`command sweep failed: ${(err as Error).message}`);
    }
  }
}
