-- Partition events and their parameter values by month of occurred_at (UTC), so that retention
-- drops whole months and time-bounded queries read only the months they need. Drizzle cannot say
-- this; the tables keep the columns and index names of src/db/schema.ts.

-- Creates the month's partition of every partitioned table in the schema (idempotent).
CREATE OR REPLACE FUNCTION audit_ensure_month_partition(month_start date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  lo timestamptz := date_trunc('month', month_start)::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (date_trunc('month', month_start) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
  suffix text := to_char(date_trunc('month', month_start), 'YYYY_MM');
BEGIN
  FOR parent IN
    SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
    WHERE c.relnamespace = current_schema()::regnamespace
  LOOP
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     parent || '_p' || suffix, parent, lo, hi);
    EXCEPTION WHEN duplicate_table THEN
      NULL; -- another instance created it a moment ago
    END;
  END LOOP;
END $$;
--> statement-breakpoint
ALTER SEQUENCE events_id_seq OWNED BY NONE;
--> statement-breakpoint
ALTER TABLE events RENAME TO events_unpartitioned;
--> statement-breakpoint
ALTER TABLE event_parameter_values RENAME TO event_parameter_values_unpartitioned;
--> statement-breakpoint
CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
CREATE TABLE event_parameter_values (LIKE event_parameter_values_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
SELECT audit_ensure_month_partition(month)
FROM (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS month FROM events_unpartitioned) AS months;
--> statement-breakpoint
INSERT INTO events SELECT * FROM events_unpartitioned;
--> statement-breakpoint
INSERT INTO event_parameter_values SELECT * FROM event_parameter_values_unpartitioned;
--> statement-breakpoint
DROP TABLE events_unpartitioned;
--> statement-breakpoint
DROP TABLE event_parameter_values_unpartitioned;
--> statement-breakpoint
ALTER SEQUENCE events_id_seq OWNED BY events.id;
--> statement-breakpoint
ALTER TABLE events ADD CONSTRAINT events_id_occurred_at_pk PRIMARY KEY (id, occurred_at);
--> statement-breakpoint
ALTER TABLE event_parameter_values ADD CONSTRAINT event_parameter_values_event_id_parameter_id_position_occurred_at_pk PRIMARY KEY (event_id, parameter_id, position, occurred_at);
--> statement-breakpoint
CREATE INDEX events_time_idx ON events USING btree (occurred_at DESC NULLS LAST, id DESC NULLS LAST);
--> statement-breakpoint
CREATE INDEX events_tx_idx ON events USING btree (tx_id, id);
--> statement-breakpoint
CREATE INDEX events_user_idx ON events USING btree (user_id, occurred_at DESC NULLS LAST, id DESC NULLS LAST);
--> statement-breakpoint
CREATE INDEX events_type_idx ON events USING btree (event_type_id, occurred_at DESC NULLS LAST, id DESC NULLS LAST);
--> statement-breakpoint
CREATE INDEX events_session_idx ON events USING btree (session_id, occurred_at DESC NULLS LAST);
--> statement-breakpoint
CREATE INDEX events_fingerprint_idx ON events USING btree (error_fingerprint, occurred_at DESC NULLS LAST) WHERE is_error;
--> statement-breakpoint
CREATE INDEX event_parameter_values_entity_idx ON event_parameter_values USING btree (entity_id, occurred_at DESC NULLS LAST, event_id DESC NULLS LAST) WHERE entity_id IS NOT NULL;
--> statement-breakpoint
SELECT audit_ensure_month_partition((now() AT TIME ZONE 'UTC')::date);
