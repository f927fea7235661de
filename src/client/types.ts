/**
 * The GraphQL shapes the Logger sends, written from schema.graphql (`input LogInput`, `enum
 * EventSource`, `Mutation.logBatch`); test/client.test.ts checks them against the printed schema.
 */
export type EventSource = 'UI' | 'API' | 'CLIENT' | 'SERVER';

export interface LogInput {
  type?: string | null;
  message?: string | null;
  /** A JSON object; `{type, id, name?}` (or a list of them) references an entity. */
  parameters?: Record<string, unknown> | null;
  user?: string | null;
  sessionId?: string | null;
  source?: EventSource | null;
  /** DateTime: an ISO 8601 string. */
  occurredAt?: string | null;
  durationMs?: number | null;
  errorMessage?: string | null;
  stackTrace?: string | null;
  idempotencyKey?: string | null;
}

/** Every field of LogInput, for the schema check. */
export const LOG_INPUT_FIELDS = [
  'type', 'message', 'parameters', 'user', 'sessionId', 'source', 'occurredAt', 'durationMs', 'errorMessage', 'stackTrace', 'idempotencyKey',
] as const satisfies ReadonlyArray<keyof LogInput>;

// Fails to compile when LogInput gains a field that LOG_INPUT_FIELDS does not list.
type Missing = Exclude<keyof LogInput, (typeof LOG_INPUT_FIELDS)[number]>;
const _allListed: [Missing] extends [never] ? true : Missing = true;
void _allListed;

export const LOG_BATCH_MUTATION = 'mutation LoggerBatch($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates } }';

export interface LogBatchResponse {
  data?: { logBatch: { recorded: number; duplicates: number } } | null;
  errors?: Array<{ message: string; extensions?: { code?: string; index?: number; retryable?: boolean } }>;
}
