import { MeterStatus, ObisReadingValue, PolledMeter, ReadCommandResult, ReadingType } from '@app/contracts';
import { encodeReadValues } from '@app/database';
import { isMeterCommunicationError, METER_TRANSPORT, type MeterTransport } from '@app/meter-protocol';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { MeterLockService } from './meter-lock.service';
import { PollStatsRecorder } from './poll-stats.recorder';
import { PollingRepository, ReadToStore, StatusRules } from './polling.repository';

/** Port used when a meter has none configured (seed guide). */
export const DEFAULT_METER_PORT = 80;

/** What happened to one meter of a pollMeters call. */
export interface PollOutcome extends ReadCommandResult {
  /** ISO time the exchange started; the stored read's read_at. */
  readAt: string;
  /**
   * Scheduled polls only: the meter was busy with an on-demand command, so it was not contacted and
   * nothing was stored (the command stores its own read).
   */
  skipped?: boolean;
  /** Status after the read, and before it when it changed (absent when the meter row was not updated). */
  status?: MeterStatus;
  previousStatus?: MeterStatus;
}

/**
 * Reads meters and stores the results: the one path shared by scheduled polls (BATCH jobs) and on-demand
 * reads (command processor). Per call: reads run concurrently, each with the transport's own deadline;
 * then ONE statement stores every read record, current reading, meter status change and status event;
 * then live events are published.
 *
 * Locking: for 'scheduled' reads this service takes each meter's lock itself (try once; a busy meter is
 * skipped), holds it until the read is stored and published, and counts the exchange against the
 * worker-wide METER_MAX_CONCURRENT_POLLS. For 'on-demand' reads the
 * caller holds the lock (`MeterLockService.withMeterLock`) and the poll cap does not apply, so commands
 * never queue behind the scheduled backlog.
 */
@Injectable()
export class MeterPollService {
  private readonly logger = new Logger(MeterPollService.name);
  private readonly limiter: ConcurrencyLimiter;
  private readonly rules: StatusRules;

  constructor(
    @Inject(METER_TRANSPORT) private readonly transport: MeterTransport,
    private readonly repository: PollingRepository,
    private readonly locks: MeterLockService,
    private readonly stats: PollStatsRecorder,
    private readonly events: MeterEventsPublisher,
    config: ConfigService,
  ) {
    this.limiter = new ConcurrencyLimiter(Number(config.get('METER_MAX_CONCURRENT_POLLS') ?? 200));
    this.rules = {
      offlineAfterFailures: Number(config.get('METER_OFFLINE_AFTER_FAILURES') ?? 1),
      intervalMs: Number(config.get('METER_POLLING_INTERVAL') ?? 60000),
      backoffMaxMs: Number(config.get('METER_OFFLINE_BACKOFF_MAX_MS') ?? 900000),
    };
  }

  get maxConcurrentPolls(): number {
    return this.limiter.limit;
  }

  /** A live meter by id as pollMeters wants it (any status); null when unknown or deleted. */
  findMeter(meterId: string): Promise<PolledMeter | null> {
    return this.repository.findPolledMeter(meterId);
  }

  async pollMeters(
    meters: readonly PolledMeter[],
    readingType: ReadingType,
    obisCodesOverride?: readonly string[],
  ): Promise<PollOutcome[]> {
    // Scheduled reads keep their meter's lock until the read is stored and published, so an on-demand
    // command on the same meter cannot publish in between: one meter's events go out in read order.
    const held = new Map<string, string>();
    try {
      const outcomes = await Promise.all(
        meters.map((meter) =>
          readingType === 'scheduled'
            ? this.limiter.run(() => this.readScheduled(meter, held))
            : this.readOnce(meter, obisCodesOverride),
        ),
      );
      await this.storeAndPublish(meters, outcomes, readingType);
      return outcomes;
    } finally {
      await Promise.all([...held].map(([meterId, token]) => this.locks.release(meterId, token)));
    }
  }

  private async storeAndPublish(
    meters: readonly PolledMeter[],
    outcomes: PollOutcome[],
    readingType: ReadingType,
  ): Promise<void> {
    const attempted = outcomes.filter((o) => !o.skipped);
    if (attempted.length === 0) return;

    const reads: ReadToStore[] = attempted.map((o) => ({
      meterId: o.meterId,
      readAt: new Date(o.readAt),
      communicationStatus: o.communicationStatus,
      responseTimeMs: o.responseTime,
      error: o.error ?? null,
      values: encodeReadValues(o.readings),
    }));
    const changes = await this.repository.storeReads(reads, readingType, this.rules);

    if (readingType === 'scheduled') {
      await this.stats.recordScheduledReads(
        attempted.map((o) => ({
          readAt: new Date(o.readAt),
          ok: o.communicationStatus !== 'failed',
          responseTimeMs: o.responseTime,
        })),
      );
    }

    const byId = new Map(changes.map((c) => [c.meterId, c]));
    const areaOf = new Map(meters.map((m) => [m.id, m.areaId]));
    for (const o of attempted) {
      const change = byId.get(o.meterId);
      if (change) {
        o.status = change.status;
        if (change.previousStatus !== change.status) o.previousStatus = change.previousStatus;
      }
      this.events.readingUpdated(
        {
          meterId: o.meterId,
          meterNumber: o.meterNumber,
          readingType,
          communicationStatus: o.communicationStatus,
          readings: o.readings,
          responseTime: o.responseTime,
          timestamp: o.readAt,
        },
        change?.areaId ?? areaOf.get(o.meterId) ?? '',
      );
    }
    for (const c of changes) {
      if (c.previousStatus === c.status) continue;
      this.events.statusChanged(
        {
          meterId: c.meterId,
          meterNumber: c.meterNumber,
          status: c.status,
          previousStatus: c.previousStatus,
          reason: c.reason ?? 'meter answered',
          lastSeen: c.lastSeen ? new Date(c.lastSeen).toISOString() : null,
          timestamp: new Date().toISOString(),
        },
        c.areaId,
      );
    }
  }

  /** Takes the meter's lock (try once) and records it in `held` for pollMeters to release. */
  private async readScheduled(meter: PolledMeter, held: Map<string, string>): Promise<PollOutcome> {
    const token = await this.locks.tryAcquire(meter.id);
    if (!token) {
      return {
        meterId: meter.id,
        meterNumber: meter.meterNumber,
        communicationStatus: 'failed',
        readings: [],
        responseTime: 0,
        readAt: new Date().toISOString(),
        skipped: true,
      };
    }
    held.set(meter.id, token);
    return this.readOnce(meter);
  }

  /** One exchange with the meter; never throws (a failure is an outcome to store). */
  private async readOnce(meter: PolledMeter, obisCodesOverride?: readonly string[]): Promise<PollOutcome> {
    const codes = obisCodesOverride?.length
      ? obisCodesOverride
      : meter.obisCodes?.length
        ? meter.obisCodes
        : DEFAULT_OBIS_CODES;
    const readAt = new Date().toISOString();
    const base = { meterId: meter.id, meterNumber: meter.meterNumber, readAt };
    if (!meter.ipAddress) {
      return {
        ...base,
        communicationStatus: 'failed',
        readings: [],
        responseTime: 0,
        error: 'meter has no address',
        failureKind: 'network',
      };
    }
    this.stats.activePolls++;
    try {
      const result = await this.transport.read(
        {
          ipAddress: meter.ipAddress,
          port: meter.port ?? DEFAULT_METER_PORT,
          meterNumber: meter.meterNumber,
        },
        codes,
      );
      const outcome: PollOutcome = {
        ...base,
        communicationStatus: result.communicationStatus,
        readings: result.readings as ObisReadingValue[],
        responseTime: result.responseTime,
      };
      if (result.error) outcome.error = result.error;
      return outcome;
    } catch (error) {
      if (isMeterCommunicationError(error)) {
        return {
          ...base,
          communicationStatus: 'failed',
          readings: [],
          responseTime: error.responseTime,
          error: error.message,
          failureKind: error.kind,
        };
      }
      this.logger.error(`unexpected error reading meter ${meter.meterNumber}: ${(error as Error).message}`);
      return {
        ...base,
        communicationStatus: 'failed',
        readings: [],
        responseTime: 0,
        error: `unexpected error: ${(error as Error).message}`,
        failureKind: 'network',
      };
    } finally {
      this.stats.activePolls--;
    }
  }
}
