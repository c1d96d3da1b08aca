import type { ClientBase } from 'pg';
import { createDailyPartition, type DailyPartitionSpec } from './read-partitions';

/**
 * The daily partitions of load_profile_entries, named and created like those of meter_reads (see
 * read-partitions.ts): used by maintenance (ahead of time) and by the profile store, which back-fills past
 * days that may have no partition (there is no default partition, so retention can detach concurrently).
 */
export const PROFILE_PARTITION_PREFIX = 'load_profile_entries_p';

/** `load_profile_entries_pYYYYMMDD` for the UTC day starting at `dayStartMs`. */
export function profilePartitionName(dayStartMs: number): string {
  return `${PROFILE_PARTITION_PREFIX}${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

const PROFILE_PARTITIONS: DailyPartitionSpec = {
  parent: 'load_profile_entries',
  column: 'captured_at',
  name: profilePartitionName,
  keyDdl: (name) => `ALTER TABLE "${name}" ADD PRIMARY KEY (meter_id, profile, captured_at)`,
};

/** The load_profile_entries partition of the day holding `epochMs`, with its primary key. */
export function createProfilePartition(client: ClientBase, epochMs: number): Promise<boolean> {
  return createDailyPartition(client, PROFILE_PARTITIONS, epochMs);
}
