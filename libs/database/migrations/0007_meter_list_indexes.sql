-- The console's meter list at fleet scale (100,000 meters): every index is partial on live meters, like
-- the list. None covers a column that polling writes (last_seen, next_poll_at, consecutive_failures…),
-- so a poll's update of a meter stays a HOT update; status was already indexed.
--
-- search is a case-insensitive substring of meter_number, brand or model (ILIKE '%…%'): trigram GIN
-- indexes serve it (pg_trgm ships with PostgreSQL's contrib, which the project's PostgreSQL includes).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE INDEX "meters_meter_number_trgm_idx" ON "meters" USING gin ("meter_number" gin_trgm_ops) WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_brand_trgm_idx" ON "meters" USING gin ("brand" gin_trgm_ops) WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_model_trgm_idx" ON "meters" USING gin ("model" gin_trgm_ops) WHERE "deleted_at" IS NULL;
--> statement-breakpoint
-- Lists are ordered by meter_number: (filter column, meter_number) serves a filtered page in order, and
-- (meter_number, id) lets an unfiltered deep page skip its offset within the index.
CREATE INDEX "meters_live_brand_number_idx" ON "meters" (lower("brand"), "meter_number") WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_live_status_number_idx" ON "meters" ("status", "meter_number") WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_live_area_number_idx" ON "meters" ("area_id", "meter_number") WHERE "deleted_at" IS NULL;
--> statement-breakpoint
CREATE INDEX "meters_live_number_id_idx" ON "meters" ("meter_number", "id") WHERE "deleted_at" IS NULL;
