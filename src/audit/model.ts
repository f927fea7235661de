/** The shapes the audit domain takes in and gives out; GraphQL types mirror these. */

export const EVENT_SOURCES = ['UI', 'API', 'CLIENT', 'SERVER'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export interface EntityRef {
  type: string;
  id: string;
  name?: string | null | undefined;
}

/** One event as a caller posts it (already shaped by the GraphQL input types). */
export interface LogInput {
  type?: string | null | undefined;
  message?: string | null | undefined;
  /**
   * A JSON object. A value `{type, id, name?}` (or a list of them) is an entity reference; other
   * values are stored as text (objects and lists as JSON).
   */
  parameters?: unknown;
  user?: string | null | undefined;
  sessionId?: string | null | undefined;
  source?: EventSource | null | undefined;
  occurredAt?: Date | null | undefined;
  durationMs?: number | null | undefined;
  errorMessage?: string | null | undefined;
  stackTrace?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}

export interface EntityView {
  id: string;
  type: string;
  externalId: string;
  name: string | null;
}

export interface EventParameterView {
  name: string;
  value: string | null;
  entity: EntityView | null;
}

/** A place in commit order: the writing transaction, then the event id (see history/committed-feed.ts). */
export interface FeedPosition {
  txId: string;
  id: string;
}

/** A stored event, as queries return it and subscribers receive it. */
export interface AuditEvent {
  id: string;
  position: FeedPosition;
  type: string;
  category: string;
  isError: boolean;
  occurredAt: Date;
  recordedAt: Date;
  userId: string | null;
  userLogin: string | null;
  sessionId: string | null;
  source: EventSource;
  description: string | null;
  durationMs: number | null;
  errorMessage: string | null;
  stackTrace: string | null;
  fingerprint: string | null;
  parameters: EventParameterView[];
  /**
   * Errors only: their group's status — as they were stored (REGRESSED when this one reopened it), or
   * as it is when they are read back (history/events.ts, following merges).
   */
  errorGroupStatus?: string;
}

/** Why an event was not recorded: logger settings switched its type off, or it came again too soon. */
export const LEFT_OUT_REASONS = ['DISABLED_BY_SETTINGS', 'THROTTLED'] as const;
export type LeftOutReason = (typeof LEFT_OUT_REASONS)[number];

/** What the recording decision needs to know of one validated event. */
export interface RecordingCandidate {
  type: { name: string; category: string; standard: boolean };
  /** The event's user (its own, or its session's); null for an anonymous event. */
  userLogin: string | null;
  sessionId: string | null;
  occurredAt: Date;
  isError: boolean;
}

/**
 * Decides, from memory, which events of a batch are recorded. `leftOut[i]` is null for a recorded
 * event; `commit` is called once the batch is stored (throttling remembers only what was stored).
 */
export interface RecordingDecider {
  decide(events: RecordingCandidate[]): { leftOut: Array<LeftOutReason | null>; commit(): void };
}

/**
 * The order of an event's parameters wherever it appears: by name (code point order, whatever the
 * database's collation), then position in a list. Events are prepared in it (validate.ts), so the
 * answer to `log`, the live feeds and a read of the stored event agree.
 */
export const byNameThenPosition = (a: { name: string; position: number }, b: { name: string; position: number }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.position - b.position;
