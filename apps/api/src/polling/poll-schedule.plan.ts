import {
  MAINTENANCE_EVERY_MS,
  POLL_JOBS,
  POLL_SCHEDULERS,
  PollTickPayload,
  pollSlotCount,
  slotOffsetMs,
} from '@app/contracts';

/** One job scheduler the poll queue should have. */
export interface DesiredScheduler {
  id: string;
  name: string;
  every: number;
  offset: number;
  data: PollTickPayload | Record<string, never>;
}

/** What the api reads back from BullMQ (JobSchedulerJson, reduced). */
export interface ExistingScheduler {
  id: string;
  name: string;
  every?: number | null;
  offset?: number | null;
  data?: unknown;
}

/** The schedulers polling needs for `intervalMs`: one per slot, and housekeeping. */
export function desiredSchedulers(intervalMs: number): DesiredScheduler[] {
  const slotCount = pollSlotCount(intervalMs);
  const slots: DesiredScheduler[] = Array.from({ length: slotCount }, (_, slot) => ({
    id: `${POLL_SCHEDULERS.SLOT_PREFIX}${slot}`,
    name: POLL_JOBS.TICK,
    every: intervalMs,
    offset: slotOffsetMs(slot, slotCount, intervalMs),
    data: { slot, slotCount, intervalMs },
  }));
  return [
    ...slots,
    {
      id: POLL_SCHEDULERS.MAINTENANCE,
      name: POLL_JOBS.MAINTENANCE,
      every: MAINTENANCE_EVERY_MS,
      offset: 60_000,
      data: {},
    },
  ];
}

function sameData(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

/**
 * The changes that turn `existing` into `desired`: schedulers to add (missing or different) and to remove
 * (unknown to this plan, e.g. another interval's slots, or different and about to be re-added). Only our
 * own ids (poll-slot:*, poll-maintenance) are ever removed.
 */
export function planReconciliation(
  desired: readonly DesiredScheduler[],
  existing: readonly ExistingScheduler[],
): { add: DesiredScheduler[]; remove: string[] } {
  const byId = new Map(existing.map((e) => [e.id, e]));
  const wanted = new Set(desired.map((d) => d.id));
  const add: DesiredScheduler[] = [];
  const remove: string[] = [];
  for (const d of desired) {
    const e = byId.get(d.id);
    if (!e) {
      add.push(d);
    } else if (
      e.name !== d.name ||
      e.every !== d.every ||
      (e.offset ?? 0) !== d.offset ||
      !sameData(e.data, d.data)
    ) {
      remove.push(d.id);
      add.push(d);
    }
  }
  for (const e of existing) {
    const ours = e.id.startsWith(POLL_SCHEDULERS.SLOT_PREFIX) || e.id === POLL_SCHEDULERS.MAINTENANCE;
    if (ours && !wanted.has(e.id)) remove.push(e.id);
  }
  return { add, remove };
}
