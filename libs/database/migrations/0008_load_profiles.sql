-- Load profiles (interval data) read from the meters' memory, and the meters' clocks.
--
-- A profile's layout (capture period, codes, scalers, units) is stored once, like read_layouts; an entry
-- keeps its capture instant, status word and raw values (bigint[] aligned with the layout's codes). Entries
-- are unique per (meter, profile, capture instant): the primary key includes the partition key, so this one
-- constraint covers every partition and a profile read twice stores nothing twice. `profile` is the load
-- profile number (1 = 1-0:99.1.0.255, 2 = 1-0:99.2.0.255; LOAD_PROFILES in libs/contracts). Column order
-- keeps the row free of alignment padding. No foreign keys on entries (like meter_reads): the key-share
-- lock on the one layout row would serialise the writers, and meters are soft-deleted.
CREATE TABLE "load_profile_layouts" (
  "id" serial PRIMARY KEY,
  "fingerprint" text NOT NULL UNIQUE,
  "capture_period_s" integer NOT NULL,
  "codes" text[] NOT NULL,
  "scalers" smallint[] NOT NULL,
  "units" text[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "load_profile_entries" (
  "meter_id" uuid NOT NULL,
  "captured_at" timestamptz NOT NULL,
  "profile" smallint NOT NULL,
  "status" smallint NOT NULL,
  "layout_id" integer NOT NULL,
  "raw" bigint[] NOT NULL,
  CONSTRAINT "load_profile_entries_pkey" PRIMARY KEY ("meter_id", "profile", "captured_at")
) PARTITION BY RANGE ("captured_at");
--> statement-breakpoint
-- Where each meter's collection stands: the last entry stored (the next collection starts there), when it
-- was collected, and the capture period (what completeness expects).
CREATE TABLE "load_profile_state" (
  "meter_id" uuid NOT NULL REFERENCES "meters" ("id") ON DELETE CASCADE,
  "profile" smallint NOT NULL,
  "capture_period_s" integer NOT NULL,
  "last_captured_at" timestamptz,
  "last_collected_at" timestamptz NOT NULL,
  PRIMARY KEY ("meter_id", "profile")
);
--> statement-breakpoint
-- Daily partitions (UTC, load_profile_entries_pYYYYMMDD) for today and the next three days; maintenance
-- keeps them ahead, and a back-fill into a past day creates that day's partition when it is missing.
DO $$
DECLARE
  day date;
  part text;
BEGIN
  FOR day IN
    SELECT d::date FROM generate_series((now() AT TIME ZONE 'UTC')::date,
                                        (now() AT TIME ZONE 'UTC')::date + 3, interval '1 day') AS d
  LOOP
    part := 'load_profile_entries_p' || to_char(day, 'YYYYMMDD');
    EXECUTE format('CREATE TABLE %I PARTITION OF load_profile_entries FOR VALUES FROM (%L) TO (%L)', part,
                   day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$;
--> statement-breakpoint
-- Clock drift of each meter (its clock minus the read's time, ms), kept by the read store in the statement
-- that already updates the meter; when an automatic clock sync was last requested (rate limit). No index:
-- an indexed column would stop the per-read update being HOT; the drift report scans the meters.
ALTER TABLE "meters"
  ADD COLUMN "clock_drift_ms" integer,
  ADD COLUMN "clock_checked_at" timestamptz,
  ADD COLUMN "clock_sync_requested_at" timestamptz;
