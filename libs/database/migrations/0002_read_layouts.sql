-- Compact read storage. A meter answers with a stable layout (the same codes, scalers and units poll after
-- poll), so the layout is stored once in read_layouts and a read keeps only its raw values, aligned with
-- the layout's codes, plus the qualities that are not 'good'. `raw` and `qualities` are json (stored as
-- the text itself), about half the bytes of the same array as jsonb; nothing needs jsonb's operators.
-- Layouts are never deleted, and reads have no foreign key to them on purpose: the key-share lock a
-- foreign key check takes on the one shared layout row of every insert would serialise the writers.
CREATE TABLE "read_layouts" (
  "id" serial PRIMARY KEY,
  "fingerprint" text NOT NULL UNIQUE,
  "codes" text[] NOT NULL,
  "scalers" smallint[] NOT NULL,
  "units" text[] NOT NULL
);
--> statement-breakpoint
ALTER TABLE "meter_reads"
  ADD COLUMN "layout_id" integer,
  ADD COLUMN "raw" json,
  ADD COLUMN "qualities" json;
--> statement-breakpoint
ALTER TABLE "meter_current_readings"
  ADD COLUMN "layout_id" integer,
  ADD COLUMN "raw" json,
  ADD COLUMN "qualities" json;
--> statement-breakpoint
-- Existing rows are converted, not dropped. The old form is { "<obis>": [raw, scaler, unit, quality] }; the
-- fingerprint is computed exactly as readLayoutFingerprint() does, so the worker reuses these layouts.
CREATE FUNCTION pg_temp.legacy_read_layout(
  v jsonb,
  OUT fingerprint text,
  OUT codes text[],
  OUT scalers smallint[],
  OUT units text[],
  OUT raw json,
  OUT qualities json
) LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
           '[' || array_to_json(c)::text || ',' || array_to_json(s)::text || ',' || array_to_json(u)::text || ']',
           'UTF8')), 'hex'),
         c, s, u, r, q
  FROM (
    SELECT array_agg(e.key ORDER BY e.ord) AS c,
           array_agg((e.value ->> 1)::smallint ORDER BY e.ord) AS s,
           array_agg(e.value ->> 2 ORDER BY e.ord) AS u,
           jsonb_agg(COALESCE(e.value -> 0, 'null'::jsonb) ORDER BY e.ord)::json AS r,
           jsonb_object_agg((e.ord - 1)::text, e.value ->> 3)
             FILTER (WHERE COALESCE(e.value ->> 3, 'good') <> 'good')::json AS q
    FROM jsonb_each(v) WITH ORDINALITY AS e(key, value, ord)
  ) agg
$$;
--> statement-breakpoint
INSERT INTO "read_layouts" ("fingerprint", "codes", "scalers", "units")
SELECT DISTINCT ON (l.fingerprint) l.fingerprint, l.codes, l.scalers, l.units
FROM (
  SELECT "values" FROM "meter_reads" WHERE "values" <> '{}'::jsonb
  UNION ALL
  SELECT "values" FROM "meter_current_readings" WHERE "values" <> '{}'::jsonb
) old
CROSS JOIN LATERAL pg_temp.legacy_read_layout(old."values") l
ORDER BY l.fingerprint;
--> statement-breakpoint
UPDATE "meter_reads" r SET ("layout_id", "raw", "qualities") = (
  SELECT rl.id, l.raw, l.qualities
  FROM pg_temp.legacy_read_layout(r."values") l
  JOIN "read_layouts" rl ON rl.fingerprint = l.fingerprint
)
WHERE r."values" <> '{}'::jsonb;
--> statement-breakpoint
UPDATE "meter_current_readings" c SET ("layout_id", "raw", "qualities") = (
  SELECT rl.id, l.raw, l.qualities
  FROM pg_temp.legacy_read_layout(c."values") l
  JOIN "read_layouts" rl ON rl.fingerprint = l.fingerprint
)
WHERE c."values" <> '{}'::jsonb;
--> statement-breakpoint
DROP FUNCTION pg_temp.legacy_read_layout(jsonb);
--> statement-breakpoint
ALTER TABLE "meter_reads" DROP COLUMN "values";
--> statement-breakpoint
ALTER TABLE "meter_current_readings" DROP COLUMN "values";
