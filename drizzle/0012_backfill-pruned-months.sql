-- Drops made before pruned_months existed were recorded only as `retention-month-dropped` events
-- (logged just before the drop). Each becomes a row, bounded by the batch that sealed its record;
-- the number of events dropped was not counted then.
INSERT INTO "pruned_months" ("month", "through_batch", "events", "dropped_at", "record_event_id")
SELECT v.value, h.batch_seq, NULL, e.recorded_at, e.id
FROM events e
JOIN event_types t ON t.id = e.event_type_id AND t.name = 'retention-month-dropped'
JOIN event_parameters p ON p.event_type_id = t.id AND p.name = 'month'
JOIN event_parameter_values v ON v.event_id = e.id AND v.occurred_at = e.occurred_at AND v.parameter_id = p.id
JOIN event_hashes h ON h.event_id = e.id
WHERE v.value ~ '^[0-9]{4}-[0-9]{2}$';
