-- Fault tolerance: at most one scheduled read record per meter and tick, enforced by the database;
-- retention of meter events through an index; fleet-wide settings (the polling interval in force).
--
-- meter_reads is partitioned by read_at, and a unique index on a partitioned table must contain the
-- partition key, so the (meter_id, tick_at) key is a unique index on EACH partition (created here for
-- the existing ones and by partition maintenance for every new one). A scheduled read starts within one
-- interval of its tick, so two records of one tick could only fall into two partitions across midnight.
ALTER TABLE "meter_reads" ADD COLUMN "tick_at" timestamptz;
--> statement-breakpoint
DO $$
DECLARE part regclass;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'meter_reads'::regclass LOOP
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %s ("meter_id", "tick_at") WHERE "tick_at" IS NOT NULL',
                   part::text || '_meter_tick_key', part);
  END LOOP;
END $$;
--> statement-breakpoint
CREATE INDEX "meter_events_created_at_idx" ON "meter_events" ("created_at");
--> statement-breakpoint
CREATE TABLE "settings" (
  "key" text PRIMARY KEY,
  "value" jsonb NOT NULL,
  "updated_at" timestamptz DEFAULT now() NOT NULL
);
