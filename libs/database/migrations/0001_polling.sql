-- Polling: spread of meters over the interval, backoff state, read history (daily partitions),
-- current readings, status events, command audit and the OBIS catalog.
ALTER TABLE "meters"
  ADD COLUMN "poll_bucket" integer DEFAULT floor(random() * 10000)::int NOT NULL CHECK ("poll_bucket" BETWEEN 0 AND 9999),
  ADD COLUMN "next_poll_at" timestamptz,
  ADD COLUMN "last_poll_at" timestamptz,
  ADD COLUMN "last_error" text;
--> statement-breakpoint
CREATE INDEX "meters_poll_bucket_idx" ON "meters" ("poll_bucket") WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE TYPE "reading_type" AS ENUM ('scheduled', 'on-demand');
--> statement-breakpoint
CREATE TYPE "communication_status" AS ENUM ('success', 'partial', 'failed');
--> statement-breakpoint
CREATE TABLE "meter_reads" (
  "id" bigserial NOT NULL,
  "meter_id" uuid NOT NULL,
  "read_at" timestamptz NOT NULL,
  "reading_type" "reading_type" NOT NULL,
  "communication_status" "communication_status" NOT NULL,
  "response_time_ms" integer NOT NULL,
  "error" text,
  "values" jsonb NOT NULL DEFAULT '{}'::jsonb
) PARTITION BY RANGE ("read_at");
--> statement-breakpoint
CREATE INDEX "meter_reads_meter_time_idx" ON "meter_reads" ("meter_id", "read_at" DESC);
--> statement-breakpoint
-- Catches rows outside the daily partitions so that no read is ever refused by the database.
CREATE TABLE "meter_reads_default" PARTITION OF "meter_reads" DEFAULT;
--> statement-breakpoint
CREATE TABLE "meter_current_readings" (
  "meter_id" uuid PRIMARY KEY REFERENCES "meters"("id") ON DELETE CASCADE,
  "read_at" timestamptz NOT NULL,
  "reading_type" "reading_type" NOT NULL,
  "communication_status" "communication_status" NOT NULL,
  "response_time_ms" integer NOT NULL,
  "values" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "meter_events" (
  "id" bigserial PRIMARY KEY,
  "meter_id" uuid NOT NULL REFERENCES "meters"("id") ON DELETE CASCADE,
  "event_type" text NOT NULL,
  "previous_status" "meter_status",
  "status" "meter_status",
  "reason" text,
  "created_at" timestamptz DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "meter_events_meter_time_idx" ON "meter_events" ("meter_id", "created_at" DESC);
--> statement-breakpoint
CREATE TYPE "command_type" AS ENUM ('read', 'write');
--> statement-breakpoint
CREATE TYPE "command_status" AS ENUM ('pending', 'success', 'failed', 'rejected');
--> statement-breakpoint
CREATE TABLE "meter_commands" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "meter_id" uuid NOT NULL REFERENCES "meters"("id") ON DELETE CASCADE,
  "command_type" "command_type" NOT NULL,
  "obis_code" text,
  "old_value" text,
  "new_value" text,
  "status" "command_status" DEFAULT 'pending' NOT NULL,
  "error" text,
  "response_time_ms" integer,
  "requested_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
  "requested_at" timestamptz DEFAULT now() NOT NULL,
  "completed_at" timestamptz
);
--> statement-breakpoint
CREATE INDEX "meter_commands_meter_time_idx" ON "meter_commands" ("meter_id", "requested_at" DESC);
--> statement-breakpoint
CREATE TABLE "obis_catalog" (
  "code" text PRIMARY KEY,
  "name" text NOT NULL,
  "unit" text,
  "default_scaler" smallint,
  "class_id" smallint NOT NULL,
  "attribute" smallint DEFAULT 2 NOT NULL,
  "access" text NOT NULL CHECK ("access" IN ('R', 'RW')),
  "value_type" text NOT NULL CHECK ("value_type" IN ('number', 'string', 'datetime', 'enum')),
  "is_default" boolean DEFAULT false NOT NULL,
  "description" text
);
