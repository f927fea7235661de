import type { AuditEvent } from '../audit/model.js';

/** Severity levels an export can filter on; derived from the event (see `eventLevel`). */
export const EXPORT_LEVELS = ['error', 'warning', 'info'] as const;
export type ExportLevel = (typeof EXPORT_LEVELS)[number];

/** Types that are not errors but that someone watching a log should notice. */
const WARNING_TYPES = new Set(['failed-login', 'login-disabled-account']);

/**
 * error for error events (an error type, an error message or a stack trace); warning for failed
 * authentication; otherwise a `level` parameter (error, warning/warn, info) when the event carries
 * one; info for the rest.
 */
export function eventLevel(event: AuditEvent): ExportLevel {
  if (event.isError) return 'error';
  if (WARNING_TYPES.has(event.type)) return 'warning';
  const declared = event.parameters.find((p) => p.name === 'level')?.value?.toLowerCase();
  if (declared === 'error' || declared === 'warning' || declared === 'info') return declared;
  if (declared === 'warn') return 'warning';
  return 'info';
}

/** Parameters as one JSON object: entity references as `{type, id, name}`, lists where a name repeats. */
export function eventParams(event: AuditEvent): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const p of event.parameters) {
    const value = p.entity ? { type: p.entity.type, id: p.entity.externalId, name: p.entity.name } : p.value;
    const earlier = params[p.name];
    params[p.name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value];
  }
  return params;
}

/**
 * One event as a flat JSON object: the line of a file export, the message sent to CloudWatch and
 * the line `cli export` writes. `cli import` reads it back (its `id` becomes the idempotency key).
 */
export interface EventRecord {
  id: string;
  timestamp: string;
  recordedAt: string;
  type: string;
  category: string;
  level: ExportLevel;
  user: string | null;
  sessionId: string | null;
  source: string;
  message: string | null;
  durationMs: number | null;
  errorMessage: string | null;
  stackTrace: string | null;
  fingerprint: string | null;
  params: Record<string, unknown>;
}

export function eventRecord(event: AuditEvent): EventRecord {
  return {
    id: event.id,
    timestamp: event.occurredAt.toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    type: event.type,
    category: event.category,
    level: eventLevel(event),
    user: event.userLogin,
    sessionId: event.sessionId,
    source: event.source,
    message: event.description,
    durationMs: event.durationMs,
    errorMessage: event.errorMessage,
    stackTrace: event.stackTrace,
    fingerprint: event.fingerprint,
    params: eventParams(event),
  };
}
