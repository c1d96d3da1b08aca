import { WorkerEnv } from '@app/config';
import {
  LOAD_PROFILE_1,
  LOAD_PROFILES,
  PROFILE_FIRST_COLLECTION_MS,
  PROFILE_MAX_PAGES_PER_METER,
  PROFILE_MAX_SPAN_MS,
} from '@app/contracts';
import { DAY_MS } from '@app/database';
import { isMeterCommunicationError, METER_TRANSPORT, type MeterTransport } from '@app/meter-protocol';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { HeldMeterLock, MeterLockService } from '../polling/meter-lock.service';
import { DEFAULT_METER_PORT } from '../polling/meter-reader';
import {
  ProfileBatch,
  ProfileRepository,
  PROFILE_STORE_MAX_ENTRIES,
  ProfileTarget,
} from './profile.repository';

/** Meters of one job whose profile is read at once (each a sequence of pages). */
export const PROFILE_METERS_IN_FLIGHT = 10;

export interface CollectResult {
  meters: number;
  /** Entries received from the meters, and how many of them were new. */
  entries: number;
  stored: number;
  /** Meters that could not be read (unreachable, unusable answer). */
  failed: number;
  /** Meters whose lock was held (a poll or a command): to be tried again shortly. */
  busy: string[];
  /** Meters with more to read than one collection takes (span or page bound): a follow-up job continues. */
  behind: string[];
}

/**
 * Collects load profiles: for each meter, from its last stored entry (or PROFILE_FIRST_COLLECTION_MS back)
 * to now, at most PROFILE_MAX_SPAN_MS and PROFILE_MAX_PAGES_PER_METER pages, paging through `more`, under
 * the meter's lock (tried once: a meter busy with a poll or a command is reported busy). Entries are
 * stored in shared statements of ≤ PROFILE_STORE_MAX_ENTRIES as they arrive, so memory stays bounded.
 * Entries older than PROFILE_RETENTION_DAYS are not stored (their partitions would be dropped at once).
 */
@Injectable()
export class ProfileCollectorService {
  private readonly logger = new Logger(ProfileCollectorService.name);
  private readonly retentionMs: number;
  private readonly profile = LOAD_PROFILES[LOAD_PROFILE_1];

  constructor(
    @Inject(METER_TRANSPORT) private readonly transport: MeterTransport,
    private readonly repository: ProfileRepository,
    private readonly locks: MeterLockService,
    env: WorkerEnv,
  ) {
    this.retentionMs = env.PROFILE_RETENTION_DAYS * DAY_MS;
  }

  async collect(meterIds: readonly string[], nowMs = Date.now()): Promise<CollectResult> {
    const targets = await this.repository.findTargets(meterIds, this.profile);
    const result: CollectResult = {
      meters: targets.length,
      entries: 0,
      stored: 0,
      failed: 0,
      busy: [],
      behind: [],
    };
    const pending: ProfileBatch[] = [];
    let pendingEntries = 0;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      const batches = pending.splice(0);
      pendingEntries = 0;
      flushing = flushing.then(async () => {
        result.stored += await this.repository.store(batches);
      });
      return flushing;
    };
    const queue = [...targets];
    const runOne = async (): Promise<void> => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        const batch = await this.collectOne(t, nowMs, result);
        if (batch === null) continue;
        result.entries += batch.entries.length;
        pending.push(batch);
        pendingEntries += batch.entries.length;
        if (pendingEntries >= PROFILE_STORE_MAX_ENTRIES) await flush();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROFILE_METERS_IN_FLIGHT, queue.length) }, runOne));
    await flush();
    return result;
  }

  /** One meter's pages, under its lock; null when it could not be read (counted in `result`). */
  private async collectOne(
    t: ProfileTarget,
    nowMs: number,
    result: CollectResult,
  ): Promise<ProfileBatch | null> {
    let lock: HeldMeterLock | null;
    try {
      lock = await this.locks.tryAcquire(t.id);
    } catch (err) {
      this.logger.warn(`meter lock of ${t.meterNumber} unavailable: ${(err as Error).message}`);
      lock = null;
    }
    if (!lock) {
      result.busy.push(t.id);
      return null;
    }
    let batch: ProfileBatch | null = null;
    try {
      const oldest = nowMs - this.retentionMs;
      let from = Math.max(t.lastCapturedAt?.getTime() ?? nowMs - PROFILE_FIRST_COLLECTION_MS, oldest);
      const to = Math.min(nowMs, from + PROFILE_MAX_SPAN_MS);
      const after = t.lastCapturedAt?.getTime() ?? -Infinity;
      const target = {
        ipAddress: t.ipAddress,
        port: t.port ?? DEFAULT_METER_PORT,
        meterNumber: t.meterNumber,
      };
      for (let page = 0; ; page++) {
        if (page === PROFILE_MAX_PAGES_PER_METER) {
          result.behind.push(t.id);
          break;
        }
        const answer = await this.transport.readProfile(target, LOAD_PROFILE_1, new Date(from), new Date(to));
        batch ??= {
          meterId: t.id,
          profile: this.profile,
          capturePeriodSec: answer.capturePeriodSec,
          captureObjects: answer.captureObjects,
          entries: [],
        };
        // The entry the collection starts from is already stored; so are any the meter repeats.
        const lastBefore = batch.entries.length ? batch.entries[batch.entries.length - 1].capturedAt : after;
        for (const e of answer.entries)
          if (e.capturedAt > lastBefore && e.capturedAt >= oldest) batch.entries.push(e);
        const last = answer.entries[answer.entries.length - 1]?.capturedAt;
        if (!answer.more || last === undefined || last < from) break;
        from = last + 1;
      }
      if (to < nowMs && !result.behind.includes(t.id)) result.behind.push(t.id);
      return batch;
    } catch (err) {
      result.failed++;
      if (!isMeterCommunicationError(err)) {
        this.logger.error(`profile of ${t.meterNumber}: ${(err as Error).message}`);
      }
      // The pages read before the failure are kept: the next collection starts after them.
      return batch;
    } finally {
      await lock.release();
    }
  }
}
