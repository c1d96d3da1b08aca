-- Maintenance must never block polling: retention detaches expired day partitions CONCURRENTLY, which
-- takes no ACCESS EXCLUSIVE lock on meter_reads (a plain DETACH, like CREATE TABLE ... PARTITION OF, would
-- stall every insert of the fleet while it waits for its lock). PostgreSQL refuses a concurrent detach while
-- the table has a default partition, so the default partition goes: its rows move into day partitions
-- (created here with the per-partition tick key of 0003), and today and the next three days (UTC) get
-- their partitions now, so that a new database stores reads before partition maintenance first runs.
DO $$
DECLARE
  day date;
  part text;
  cols text;
BEGIN
  ALTER TABLE meter_reads DETACH PARTITION meter_reads_default;
  FOR day IN
    SELECT d::date FROM generate_series((now() AT TIME ZONE 'UTC')::date,
                                        (now() AT TIME ZONE 'UTC')::date + 3, interval '1 day') AS d
    UNION
    SELECT DISTINCT (read_at AT TIME ZONE 'UTC')::date FROM meter_reads_default
  LOOP
    part := 'meter_reads_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF meter_reads FOR VALUES FROM (%L) TO (%L)', part,
                     day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
      EXECUTE format('CREATE UNIQUE INDEX %I ON %I ("meter_id", "tick_at") WHERE "tick_at" IS NOT NULL',
                     part || '_meter_tick_key', part);
    END IF;
  END LOOP;
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'meter_reads'::regclass AND attnum > 0 AND NOT attisdropped;
  EXECUTE format('INSERT INTO meter_reads (%s) SELECT %s FROM meter_reads_default', cols, cols);
  DROP TABLE meter_reads_default;
END $$;
