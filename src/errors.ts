/**
 * An expected failure that the caller can act on. Domain modules throw it; the GraphQL layer turns
 * it into an error whose `extensions.code` is `code`. Everything else is masked as internal.
 */
export class AuditError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

/** The stable codes, documented in the README. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'INVALID_EVENT_TYPE'
  | 'RESERVED_EVENT_TYPE'
  | 'INVALID_PARAMETERS'
  | 'VALUE_TOO_LONG'
  | 'TIMESTAMP_IN_FUTURE'
  | 'BATCH_TOO_LARGE'
  | 'PAGE_TOO_LARGE'
  | 'INVALID_CURSOR'
  | 'UNKNOWN_SESSION'
  | 'SESSION_USER_MISMATCH'
  | 'SESSION_ALREADY_ENDED'
  | 'NOT_FOUND'
  | 'INVALID_QUERY'
  | 'INVALID_RULE'
  | 'GROUP_CYCLE'
  | 'SUBSCRIBER_TOO_SLOW'
  | 'ACTOR_REQUIRED'
  | 'ACTOR_MISMATCH'
  | 'NOT_A_CHANGESET'
  | 'REVERT_CONFLICT'
  | 'NOTHING_TO_REVERT'
  | 'NOT_AN_APPROVER'
  | 'NOT_THE_REQUESTOR'
  | 'SUGGESTION_ALREADY_DECIDED'
  | 'CHECKPOINTS_DISABLED'
  | 'BAD_CHECKPOINT_FILE'
  | 'DATABASE_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  // Limits, raised as GraphQL errors by src/auth/limits.ts, src/app.ts and src/graphql-ws.ts:
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COSTLY'
  | 'QUERY_TOO_MANY_ALIASES'
  | 'QUERY_TOO_MANY_TOKENS'
  | 'QUERY_TOO_MANY_DIRECTIVES'
  | 'REQUEST_TOO_LARGE'
  | 'LENGTH_REQUIRED'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'RATE_LIMITED';

const CONNECTION_CODES = new Set([
  // Node sockets
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  // postgres.js
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  // PostgreSQL: too many connections
  '53300',
]);

/**
 * Errors of the driver that mean the database could not be reached, not that the query was wrong:
 * socket errors, postgres.js connection errors, and the SQLSTATE classes 08 (connection exception)
 * and 57P (the server shut down or is starting). Drizzle wraps driver errors (`cause`), and a
 * connection to a name with several addresses fails with an AggregateError: both are looked into.
 */
export function isConnectionError(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 5) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError((error as { cause?: unknown }).cause, depth + 1);
}
