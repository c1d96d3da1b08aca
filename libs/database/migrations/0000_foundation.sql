CREATE TYPE "user_role" AS ENUM ('admin', 'operator', 'viewer');
--> statement-breakpoint
CREATE TYPE "meter_type" AS ENUM ('single-phase', 'three-phase', 'prepaid', 'postpaid');
--> statement-breakpoint
CREATE TYPE "meter_status" AS ENUM ('online', 'offline', 'active', 'warehouse', 'faulty');
--> statement-breakpoint
CREATE TABLE "users" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "username" text NOT NULL UNIQUE,
  "password_hash" text NOT NULL,
  "role" "user_role" NOT NULL,
  "is_active" boolean DEFAULT true NOT NULL,
  "last_login_at" timestamptz,
  "created_at" timestamptz DEFAULT now() NOT NULL,
  "updated_at" timestamptz DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "areas" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "name" text NOT NULL UNIQUE,
  "code" text NOT NULL UNIQUE,
  "description" text,
  "created_at" timestamptz DEFAULT now() NOT NULL,
  "updated_at" timestamptz DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "meters" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "meter_number" text NOT NULL,
  "meter_type" "meter_type" NOT NULL,
  "brand" text NOT NULL,
  "model" text NOT NULL,
  "area_id" uuid NOT NULL REFERENCES "areas"("id") ON DELETE RESTRICT,
  "ip_address" text,
  "port" integer CHECK ("port" BETWEEN 1 AND 65535),
  "status" "meter_status" DEFAULT 'online' NOT NULL,
  "firmware" text,
  "obis_codes" text[],
  "last_seen" timestamptz,
  "consecutive_failures" integer DEFAULT 0 NOT NULL,
  "deleted_at" timestamptz,
  "created_at" timestamptz DEFAULT now() NOT NULL,
  "updated_at" timestamptz DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "meters_meter_number_live_key" ON "meters" ("meter_number") WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_area_id_idx" ON "meters" ("area_id");
--> statement-breakpoint
CREATE INDEX "meters_status_idx" ON "meters" ("status") WHERE "deleted_at" IS NULL;
