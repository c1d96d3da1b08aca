import type { CommunicationStatus, ReadingType } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CounterSeries, HistogramSeries, HotPathCounter, HotPathHistogram } from './hot-path-metrics';
import { METRICS } from './metric-names';

const READING_TYPES: readonly ReadingType[] = ['scheduled', 'on-demand'];
const RESULTS: readonly CommunicationStatus[] = ['success', 'partial', 'failed'];

/** Meter exchanges last from ~1 ms (a gateway next door) to the deadline (METER_TIMEOUT_MS, ≤ 120 s). */
const READ_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Lag of a scheduled read behind its tick: reads of a batch start within the slot's second, late ones far later. */
const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
/** A batched statement of up to 1000 reads. */
const STORE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The worker's read path metrics. Every series of the per-read metrics is created once here (HotPathCounter,
 * HotPathHistogram): recording a read is two property lookups and a few additions, no allocation (the
 * worker's CPU per read is a measured target). Per-statement store metrics use prom-client directly.
 */
@Injectable()
export class ReadMetrics {
  private readonly reads = {} as Record<ReadingType, Record<CommunicationStatus, CounterSeries>>;
  private readonly durations = {} as Record<ReadingType, HistogramSeries>;
  private readonly pollLag: HistogramSeries;
  private readonly storeDuration: Histogram;
  private readonly storeRows: Counter;
  private readonly storeRetries: Counter;
  private readonly storeLost: Counter;
  private backlog: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    const reads = new HotPathCounter(registry, METRICS.READS, 'Meter exchanges, by result and reading type');
    const duration = new HotPathHistogram(
      registry,
      METRICS.READ_DURATION,
      'Duration of one meter exchange (connect, headers and body), by reading type',
      READ_BUCKETS,
    );
    for (const type of READING_TYPES) {
      this.durations[type] = duration.series({ reading_type: type });
      this.reads[type] = {} as Record<CommunicationStatus, CounterSeries>;
      for (const result of RESULTS) this.reads[type][result] = reads.series({ result, reading_type: type });
    }
    this.pollLag = new HotPathHistogram(
      registry,
      METRICS.POLL_LAG,
      'Start of a scheduled read minus the tick it was planned for',
      LAG_BUCKETS,
    ).series();
    this.storeDuration = new Histogram({
      name: METRICS.STORE_DURATION,
      help: 'Duration of one batched statement storing reads',
      buckets: STORE_BUCKETS,
      registers,
    });
    this.storeRows = new Counter({
      name: METRICS.STORE_ROWS,
      help: 'Reads written by the batched statements (new records and duplicates refused by the database)',
      registers,
    });
    this.storeRetries = new Counter({
      name: METRICS.STORE_RETRIES,
      help: 'Store statements retried because PostgreSQL was unavailable or refused them',
      registers,
    });
    this.storeLost = new Counter({
      name: METRICS.STORE_LOST,
      help: 'Reads that could not be stored (refused every time, or shutdown grace ran out)',
      registers,
    });
    const backlog: Gauge = new Gauge({
      name: METRICS.STORE_BACKLOG,
      help: 'Reads taken or being taken that are not stored yet (bounded by STORE_BUFFER_MAX_READS)',
      registers,
      collect: () => backlog.set(this.backlog()),
    });
  }

  /** The store's backlog, read at scrape time. */
  watchBacklog(read: () => number): void {
    this.backlog = read;
  }

  /** One exchange: its result and its duration (`responseTimeMs`, as the transport measured it). */
  read(readingType: ReadingType, result: CommunicationStatus, responseTimeMs: number): void {
    this.reads[readingType][result].value++;
    this.durations[readingType].observe(responseTimeMs / 1000);
  }

  /** A scheduled read started `lagMs` after its tick. */
  lag(lagMs: number): void {
    this.pollLag.observe(lagMs / 1000);
  }

  stored(rows: number, durationMs: number): void {
    this.storeRows.inc(rows);
    this.storeDuration.observe(durationMs / 1000);
  }

  storeRetried(): void {
    this.storeRetries.inc();
  }

  lost(rows: number): void {
    this.storeLost.inc(rows);
  }
}
