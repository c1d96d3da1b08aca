import { QUEUES } from '@app/contracts';
import { METER_STATUSES } from '@app/database';
import { METRICS } from '@app/metrics';
import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import { FleetStatusRepository } from './fleet-status.repository';

/** Scrapes within this time reuse the last fleet count (several Prometheus replicas, several api instances). */
export const FLEET_COUNT_CACHE_MS = 10_000;
/** A scrape never waits longer than this for PostgreSQL or Redis: the last known values are kept. */
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * Fleet-wide gauges, computed at scrape time: hes_meters{status} (a GROUP BY over meters, cached
 * FLEET_COUNT_CACHE_MS) and hes_queue_jobs{queue,state} (BullMQ's job counts, a few O(1) Redis calls).
 * Every api instance reports the same values: queries take max() over instances, never sum().
 * A dependency that is down leaves the last values in place (readiness and the outage logs say it is down).
 */
@Injectable()
export class FleetMetrics implements OnModuleInit {
  private readonly logger = new Logger(FleetMetrics.name);
  private queues: Queue[] = [];
  private fleetCountedAt = 0;
  private fleet?: Promise<void>;

  constructor(
    private readonly registry: Registry,
    private readonly repository: FleetStatusRepository,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    this.queues = [QUEUES.POLL, QUEUES.COMMAND].map((name) =>
      this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }),
    );
    const meters: Gauge<'status'> = new Gauge({
      name: METRICS.METERS,
      help: 'Meters by status (from PostgreSQL; every api instance reports the fleet: use max)',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect: () => this.countFleet(meters),
    });
    for (const status of METER_STATUSES) meters.labels(status).set(0);
    const jobs: Gauge<'queue' | 'state'> = new Gauge({
      name: METRICS.QUEUE_JOBS,
      help: 'BullMQ jobs by queue and state (every api instance reports the same: use max)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      collect: () => this.countJobs(jobs),
    });
    for (const queue of this.queues) for (const state of QUEUE_STATES) jobs.labels(queue.name, state).set(0);
  }

  private countFleet(gauge: Gauge<'status'>): Promise<void> {
    if (Date.now() - this.fleetCountedAt < FLEET_COUNT_CACHE_MS) return Promise.resolve();
    this.fleet ??= withTimeout(this.repository.countByStatus())
      .then((rows) => {
        for (const status of METER_STATUSES) gauge.labels(status).set(0);
        for (const row of rows) gauge.labels(row.status).set(Number(row.meters));
        this.fleetCountedAt = Date.now();
      })
      .catch((err: Error) => this.logger.debug(`hes_meters not refreshed: ${err.message}`))
      .finally(() => (this.fleet = undefined));
    return this.fleet;
  }

  private async countJobs(gauge: Gauge<'queue' | 'state'>): Promise<void> {
    await Promise.all(
      this.queues.map(async (queue) => {
        try {
          const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES));
          for (const state of QUEUE_STATES) gauge.labels(queue.name, state).set(counts[state] ?? 0);
        } catch (err) {
          this.logger.debug(`hes_queue_jobs of ${queue.name} not refreshed: ${(err as Error).message}`);
        }
      }),
    );
  }
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${SCRAPE_QUERY_TIMEOUT_MS} ms`)),
        SCRAPE_QUERY_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
