import { WorkerEnv } from '@app/config';
import { PolledMeter } from '@app/contracts';
import { ReadMetrics } from '@app/metrics';
import { Injectable, Logger } from '@nestjs/common';
import { ExchangeSlots } from './exchange-slots';
import { HeldMeterLock, MeterLockService } from './meter-lock.service';
import { MeterExchange, MeterReader } from './meter-reader';
import { PollStatsRecorder, StoredScheduledRead } from './poll-stats.recorder';
import { ReadEvents } from './read-events';
import { readRecord, ReadStore } from './read-store';

/** The tick a batch answers. */
export interface PollTick {
  /** Epoch ms the slot's tick was planned for. */
  tickAt: number;
  /** The fleet-wide interval the tick was scheduled with. */
  intervalMs: number;
}

export interface BatchResult {
  /** Meters read and stored. */
  succeeded: number;
  failed: number;
  /** Not contacted: the meter was busy with a command, Redis refused its lock, or the store backlog was full. */
  skipped: number;
  /** Read, but the database already had a record of this meter for this tick (a batch run twice). */
  duplicates: number;
  /** Read, but not stored (counted and logged by the store). */
  lost: number;
}

type MeterOutcome = keyof BatchResult;

/**
 * Scheduled reads of one batch. Each meter goes its own way, so a silent meter delays nothing but itself:
 * its place in the store backlog, then an exchange slot (ExchangeSlots: handed back while the meter stays
 * silent), in which it takes its lock (tried once: a meter busy with a command is skipped, the command
 * stores its own read) and is read, then the store (shared statements, retried until PostgreSQL answers),
 * then its live events, and only then its lock is released.
 */
@Injectable()
export class ScheduledPollService {
  private readonly logger = new Logger(ScheduledPollService.name);
  private lockErrorLogged = false;
  /** The interval of the last tick this worker served (the heartbeat reports it). */
  intervalMs: number;

  constructor(
    private readonly reader: MeterReader,
    private readonly store: ReadStore,
    private readonly locks: MeterLockService,
    private readonly events: ReadEvents,
    private readonly stats: PollStatsRecorder,
    private readonly metrics: ReadMetrics,
    private readonly slots: ExchangeSlots,
    env: WorkerEnv,
  ) {
    this.intervalMs = env.METER_POLLING_INTERVAL;
  }

  /** METER_MAX_CONCURRENT_POLLS: exchanges actively served at once (the polling status shows it). */
  get maxConcurrentPolls(): number {
    return this.slots.slots;
  }

  /** Exchanges holding a slot now. */
  get activePolls(): number {
    return this.slots.active;
  }

  /** Exchanges this worker may have in flight: slots, plus silent meters that handed theirs back. */
  get maxExchanges(): number {
    return this.slots.slots + this.slots.silent;
  }

  async pollBatch(meters: readonly PolledMeter[], tick: PollTick): Promise<BatchResult> {
    this.intervalMs = tick.intervalMs;
    const stored: StoredScheduledRead[] = [];
    const outcomes = await Promise.all(meters.map((meter) => this.pollOne(meter, tick, stored)));
    await this.stats.recordScheduledReads(stored, tick.intervalMs);
    const result: BatchResult = { succeeded: 0, failed: 0, skipped: 0, duplicates: 0, lost: 0 };
    for (const outcome of outcomes) result[outcome]++;
    return result;
  }

  private async pollOne(
    meter: PolledMeter,
    tick: PollTick,
    stored: StoredScheduledRead[],
  ): Promise<MeterOutcome> {
    const place = this.store.reserve();
    if (!place) return 'skipped';
    let lock: HeldMeterLock | null = null;
    try {
      const exchange = await this.slots.run(async (): Promise<MeterExchange | null> => {
        lock = await this.tryLock(meter.id);
        return lock ? this.reader.read(meter) : null;
      });
      if (!exchange) {
        place.cancel();
        return 'skipped';
      }
      this.metrics.read('scheduled', exchange.communicationStatus, exchange.responseTime);
      this.metrics.lag(Date.parse(exchange.readAt) - tick.tickAt);
      const result = await place.store(readRecord(exchange, 'scheduled', new Date(tick.tickAt)));
      if (result.lost) return 'lost';
      if (!result.stored) return 'duplicates';
      this.events.publish(exchange, 'scheduled', result, meter.areaId);
      const ok = exchange.communicationStatus !== 'failed';
      stored.push({ readAt: new Date(exchange.readAt), ok, responseTimeMs: exchange.responseTime });
      return ok ? 'succeeded' : 'failed';
    } finally {
      place.cancel(); // no-op once stored
      await (lock as HeldMeterLock | null)?.release();
    }
  }

  /** The meter's lock, or null when it is busy or Redis cannot be asked (the meter is then skipped). */
  private async tryLock(meterId: string): Promise<HeldMeterLock | null> {
    try {
      const lock = await this.locks.tryAcquire(meterId);
      this.lockErrorLogged = false;
      return lock;
    } catch (err) {
      if (!this.lockErrorLogged)
        this.logger.warn(`meter locks unavailable, meters skipped: ${(err as Error).message}`);
      this.lockErrorLogged = true;
      return null;
    }
  }
}
