-- Views for BI tools with data.world's column names (audit_events, audit_events_with_changes), so
-- its example queries run here with only the date function adapted. Timestamps are UTC without a
-- zone; ENVIRONMENT, ORG and SITEID have no counterpart in this service and are null.
CREATE VIEW "audit_events" AS
SELECT
  e.id AS id,
  u.login AS agentid,
  NULL::text AS environment,
  (e.occurred_at AT TIME ZONE 'UTC')::date AS event_date_utc,
  e.occurred_at AT TIME ZONE 'UTC' AS event_timestamp_utc,
  t.name AS event_type,
  NULL::text AS org,
  coalesce(
    (SELECT array_agg(DISTINCT c.field ORDER BY c.field) FROM event_changes c
      WHERE (c.event_id = e.id AND c.occurred_at = e.occurred_at) OR c.parent_event_id = e.id),
    '{}'::text[]) AS predicates,
  NULL::text AS siteid,
  e.source AS source,
  g.name AS suggestion_approver,
  CASE WHEN e.id IN (s.decision_event_id, s.applied_event_id) THEN cb.login END AS suggestion_completedby,
  s.id AS suggestion_id,
  r.login AS suggestion_requestor,
  tgt.external_id AS target_resource,
  tgt.type AS target_type,
  CASE WHEN tgt.type IS NULL THEN '{}'::text[] ELSE ARRAY[tgt.type] END AS type_iris,
  e.description AS message
FROM events e
JOIN event_types t ON t.id = e.event_type_id
LEFT JOIN users u ON u.id = e.user_id
-- The target: the entity of the `target` parameter, else the event's first entity parameter.
LEFT JOIN LATERAL (
  SELECT en.type, en.external_id FROM event_parameter_values v
  JOIN event_parameters p ON p.id = v.parameter_id
  JOIN entities en ON en.id = v.entity_id
  WHERE v.event_id = e.id AND v.occurred_at = e.occurred_at AND v.entity_id IS NOT NULL
  ORDER BY (p.name = 'target') DESC, p.name, v.position
  LIMIT 1) tgt ON true
LEFT JOIN LATERAL (
  SELECT v.value::uuid AS id FROM event_parameter_values v
  JOIN event_parameters p ON p.id = v.parameter_id
  WHERE v.event_id = e.id AND v.occurred_at = e.occurred_at AND p.name = 'suggestion'
    AND t.name IN ('suggestion.create', 'suggestion.approve', 'suggestion.reject', 'suggestion.cancel', 'changeset.applied')
  LIMIT 1) sp ON true
LEFT JOIN suggestions s ON s.id = sp.id
LEFT JOIN groups g ON g.id = s.approver_group_id
LEFT JOIN users r ON r.id = s.requestor_id
LEFT JOIN users cb ON cb.id = s.completed_by_id;
--> statement-breakpoint
CREATE VIEW "audit_events_with_changes" AS
SELECT
  lower(c.action) AS action,
  u.login AS agentid,
  (c.occurred_at AT TIME ZONE 'UTC')::date AS changeset_date_utc,
  c.event_id AS changeset_event_id,
  c.field AS changeset_predicate,
  c.occurred_at AT TIME ZONE 'UTC' AS changeset_timestamp_utc,
  c.sequence AS change_sequence_no,
  c.change_type AS change_type,
  c.previous_value AS current_value,
  c.data_type AS data_type,
  NULL::text AS environment,
  (coalesce(pe.occurred_at, ce.occurred_at) AT TIME ZONE 'UTC')::date AS event_date_utc,
  coalesce(pe.id, ce.id) AS event_id,
  coalesce(pe.occurred_at, ce.occurred_at) AT TIME ZONE 'UTC' AS event_timestamp_utc,
  coalesce(pt.name, ct.name) AS event_type,
  CASE WHEN lower(c.data_type) IN ('uri', 'iri') THEN 'uri' ELSE 'literal' END AS field_type,
  c.language AS language,
  NULL::text AS org,
  (SELECT array_agg(DISTINCT c2.field ORDER BY c2.field) FROM event_changes c2
    WHERE c2.event_id = c.event_id AND c2.occurred_at = c.occurred_at) AS predicates,
  NULL::text AS siteid,
  ce.source AS source,
  en.external_id AS target_resource,
  en.type AS target_type,
  ARRAY[en.type] AS type_iris,
  c.new_value AS value
FROM event_changes c
JOIN events ce ON ce.id = c.event_id AND ce.occurred_at = c.occurred_at
JOIN event_types ct ON ct.id = ce.event_type_id
JOIN entities en ON en.id = c.entity_id
LEFT JOIN users u ON u.id = ce.user_id
LEFT JOIN events pe ON pe.id = c.parent_event_id
LEFT JOIN event_types pt ON pt.id = pe.event_type_id;
