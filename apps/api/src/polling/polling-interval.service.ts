import { ApiEnv, POLLING_INTERVAL_MAX_MS, POLLING_INTERVAL_MIN_MS } from '@app/config';
import { pollingIntervalSettingKey } from '@app/contracts';
import { SettingsRepository } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';

export interface IntervalChange {
  previousIntervalMs: number | null;
  intervalMs: number;
}

/**
 * The polling interval in force: ONE value for the whole fleet, stored in PostgreSQL (`settings`), so every
 * api instance reconciles toward the same schedule and workers get it in each tick's payload. The key
 * carries QUEUE_PREFIX because the schedulers it drives live under that prefix: processes sharing a
 * prefix share the interval. METER_POLLING_INTERVAL only seeds a database that has no value yet.
 */
@Injectable()
export class PollingIntervalService {
  private readonly logger = new Logger(PollingIntervalService.name);
  readonly settingKey: string;
  private readonly envIntervalMs: number;

  constructor(
    private readonly settings: SettingsRepository,
    env: ApiEnv,
  ) {
    this.settingKey = pollingIntervalSettingKey(env.QUEUE_PREFIX);
    this.envIntervalMs = env.METER_POLLING_INTERVAL;
  }

  /**
   * Seeds the stored value from METER_POLLING_INTERVAL when there is none, and says so loudly when the
   * environment asks for another interval than the one in force.
   */
  async seedFromEnv(): Promise<number> {
    const stored = this.valid(await this.settings.seed(this.settingKey, this.envIntervalMs));
    if (stored !== this.envIntervalMs) {
      this.logger.warn(
        `METER_POLLING_INTERVAL=${this.envIntervalMs} is not in force: the fleet-wide polling interval is ` +
          `${stored} ms (PostgreSQL settings '${this.settingKey}'; the environment only seeds a new database). ` +
          `Change it with PUT /api/meters/polling/interval { "intervalMs": ${this.envIntervalMs} } as an admin.`,
      );
    }
    return stored;
  }

  /** The interval in force, read from PostgreSQL (seeded first when missing). */
  async current(): Promise<number> {
    const stored = await this.settings.get<unknown>(this.settingKey);
    return stored === undefined ? this.seedFromEnv() : this.valid(stored);
  }

  /** Stores a new fleet-wide interval; schedules follow at the next reconciliation. */
  async change(intervalMs: number): Promise<IntervalChange> {
    const before = await this.settings.set(this.settingKey, this.valid(intervalMs));
    return { previousIntervalMs: typeof before === 'number' ? before : null, intervalMs };
  }

  /** A stored value is trusted only as far as the environment's own bounds (a hand edit may be wrong). */
  private valid(value: unknown): number {
    const ms = Number(value);
    if (!Number.isInteger(ms) || ms < POLLING_INTERVAL_MIN_MS || ms > POLLING_INTERVAL_MAX_MS) {
      throw new Error(`settings '${this.settingKey}' holds ${JSON.stringify(value)}, not an interval in ms`);
    }
    return ms;
  }
}
