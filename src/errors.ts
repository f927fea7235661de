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
  | 'SUBSCRIBER_TOO_SLOW'
  | 'DATABASE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  // Limits, raised as GraphQL errors by src/auth/limits.ts and src/app.ts:
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COSTLY'
  | 'QUERY_TOO_MANY_ALIASES'
  | 'QUERY_TOO_MANY_TOKENS'
  | 'QUERY_TOO_MANY_DIRECTIVES'
  | 'REQUEST_TOO_LARGE'
  | 'LENGTH_REQUIRED'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'RATE_LIMITED';

/** Errors of the driver that mean the database could not be reached, not that the query was wrong. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(code)
  );
}
