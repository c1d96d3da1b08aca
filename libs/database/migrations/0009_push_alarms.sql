-- Meter push (readings sent by the meters themselves) and alarms.
ALTER TYPE "reading_type" ADD VALUE IF NOT EXISTS 'push';
--> statement-breakpoint
-- One push secret per meter, encrypted (AES-256-GCM, key from the environment): HMAC needs the secret itself.
CREATE TABLE "meter_push_secrets" (
  "meter_id" uuid PRIMARY KEY NOT NULL REFERENCES "meters"("id") ON DELETE CASCADE,
  "secret" text NOT NULL,
  "rotated_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
  "rotated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TYPE "alarm_severity" AS ENUM ('info', 'warning', 'critical');
--> statement-breakpoint
CREATE TYPE "alarm_state" AS ENUM ('open', 'acknowledged', 'cleared');
--> statement-breakpoint
CREATE TABLE "meter_alarms" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "meter_id" uuid NOT NULL REFERENCES "meters"("id") ON DELETE CASCADE,
  "alarm" text NOT NULL,
  "severity" "alarm_severity" NOT NULL,
  "state" "alarm_state" DEFAULT 'open' NOT NULL,
  "raised_at" timestamp with time zone NOT NULL,
  "received_at" timestamp with time zone DEFAULT now() NOT NULL,
  "details" jsonb,
  "acknowledged_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
  -- Or the integration's API key that acknowledged it (the audit trail has the request either way).
  "acknowledged_by_key" uuid REFERENCES "api_keys"("id") ON DELETE SET NULL,
  "acknowledged_at" timestamp with time zone,
  "cleared_at" timestamp with time zone
);
--> statement-breakpoint
-- A meter sending one alarm again (a retry with a fresh signature) records it once.
CREATE UNIQUE INDEX "meter_alarms_meter_alarm_raised_key" ON "meter_alarms" ("meter_id", "alarm", "raised_at");
--> statement-breakpoint
CREATE INDEX "meter_alarms_received_idx" ON "meter_alarms" ("received_at" DESC, "id");
--> statement-breakpoint
CREATE INDEX "meter_alarms_meter_idx" ON "meter_alarms" ("meter_id", "received_at" DESC);
--> statement-breakpoint
CREATE INDEX "meter_alarms_state_idx" ON "meter_alarms" ("state", "received_at" DESC) WHERE "state" <> 'cleared';
