import { QUEUES } from '@app/contracts';
import { OutageLog } from '@app/database';
import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';

/**
 * The one QueueEvents connection of this api instance for the command queue: every waiting request
 * listens on it (job.waitUntilFinished), so a thousand concurrent commands still cost one Redis reader.
 * Its Redis outages are logged once each (BullMQ would print every reconnect error with its stack).
 */
@QueueEventsListener(QUEUES.COMMAND)
export class CommandQueueEvents extends QueueEventsHost implements OnApplicationBootstrap {
  private readonly outage = new OutageLog(new Logger('Redis'), 'Redis (command results)');

  onApplicationBootstrap(): void {
    // The client exists once Redis first answered; its 'ready' then marks each recovery.
    this.queueEvents.client.then(
      (client) => client.on('ready', () => this.outage.recovered()),
      (err: Error) => this.outage.failed(err),
    );
  }

  @OnQueueEvent('error')
  onError(err: Error): void {
    this.outage.failed(err);
  }
}

/** Retention of finished command jobs: bounded by count and age (the audit trail lives in PostgreSQL). */
export const COMMAND_JOB_RETENTION = {
  removeOnComplete: { count: 1000, age: 3600 },
  removeOnFail: { count: 1000, age: 24 * 3600 },
} as const;

/** Time a command may spend queued and waiting for the meter's lock before the worker drops it unsent. */
export const COMMAND_START_GRACE_MS = 2000;
/** Slack for the worker to store the result and for the completion event to travel back. */
export const COMMAND_RESULT_SLACK_MS = 2000;

/**
 * Deadlines of one command, from METER_TIMEOUT_MS. A scheduled poll may hold the meter for up to one
 * meter timeout, so the worker may start the exchange until `notAfter`; the api waits for that plus one
 * exchange plus slack, after which no meter can still be contacted on this command's behalf.
 */
export function commandDeadlines(
  meterTimeoutMs: number,
  now = Date.now(),
): { notAfter: number; waitMs: number } {
  const startWindow = meterTimeoutMs + COMMAND_START_GRACE_MS;
  return { notAfter: now + startWindow, waitMs: startWindow + meterTimeoutMs + COMMAND_RESULT_SLACK_MS };
}
