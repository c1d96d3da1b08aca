-- Access control (issue 10): area-scoped users, token revocation, API keys and the audit trail.
-- A user's areas: empty means fleet-wide. token_version is in every access token; raising it ends
-- every token issued before (logout, password, role, area or active-flag change).
ALTER TABLE "users" ADD COLUMN "area_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL;
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "token_version" integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Integration keys: only the sha-256 of the secret is stored; `prefix` (the first characters of the
-- secret) lets an admin recognise a key in the list without it being usable.
CREATE TABLE "api_keys" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "name" text NOT NULL,
  "prefix" text NOT NULL,
  "key_hash" text NOT NULL,
  "role" "user_role" NOT NULL,
  "area_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
  "expires_at" timestamp with time zone,
  "created_by" uuid REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "last_used_at" timestamp with time zone,
  "revoked_at" timestamp with time zone,
  CONSTRAINT "api_keys_key_hash_key" UNIQUE ("key_hash")
);
--> statement-breakpoint
-- Append-only record of every state-changing request. The actor is kept by id and name (a deleted
-- user or key still reads right); `changes` is a bounded before/after summary.
CREATE TABLE "audit_log" (
  "id" bigserial PRIMARY KEY NOT NULL,
  "at" timestamp with time zone DEFAULT now() NOT NULL,
  "actor_type" text NOT NULL,
  "actor_id" uuid,
  "actor_name" text NOT NULL,
  "action" text NOT NULL,
  "target_type" text,
  "target_id" text,
  "outcome" text NOT NULL,
  "status_code" smallint NOT NULL,
  "changes" jsonb,
  "request_id" text,
  "source_address" text
);
--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" ("at" DESC, "id" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" ("actor_id", "at" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "audit_log" ("target_id", "at" DESC);
--> statement-breakpoint
-- Rows are never changed, and deleted only by retention: the worker's maintenance sets
-- hes.audit_retention for its own transaction and deletes rows older than AUDIT_RETENTION_DAYS.
CREATE FUNCTION "audit_log_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('hes.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION "audit_log_append_only"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"();
--> statement-breakpoint
-- A command requested with an API key names the key (requested_by stays the user, when a user asked).
ALTER TABLE "meter_commands" ADD COLUMN "requested_by_key" uuid REFERENCES "api_keys"("id") ON DELETE SET NULL;
