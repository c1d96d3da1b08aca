import { Logger } from '@nestjs/common';

/**
 * Logs the first failure of an outage at warn and the recovery once, so a 60 s outage is two log lines
 * instead of one per dead connection; what happened meanwhile is counted.
 */
export class OutageLog {
  private down = false;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  failed(err: Error): void {
    this.failures++;
    if (this.down) return;
    this.down = true;
    this.logger.warn(`${this.what} connection lost: ${err.message}; reconnecting`);
  }

  recovered(): void {
    if (!this.down) return;
    this.logger.log(`${this.what} connection restored after ${this.failures} connection error(s)`);
    this.down = false;
    this.failures = 0;
  }
}
