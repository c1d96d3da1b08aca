-- A read is identified by its meter and the instant its exchange started (a meter is read by one
-- process at a time, under its lock). Unique, so that a store retried after a commit whose answer was
-- lost (PostgreSQL restarting at that instant) inserts nothing twice. The partition key read_at is part
-- of the key, so this one index on the parent covers every partition. It replaces the plain index on
-- the same columns.
CREATE UNIQUE INDEX "meter_reads_meter_read_at_key" ON "meter_reads" ("meter_id", "read_at" DESC);
--> statement-breakpoint
DROP INDEX "meter_reads_meter_time_idx";
