import { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { AuthContext } from '../auth/credentials.js';
import { AuditError, isConnectionError } from '../errors.js';

export function forbidden(auth: AuthContext): GraphQLError {
  return auth.authenticated
    ? createGraphQLError('Your credential does not allow this.', { extensions: { code: 'FORBIDDEN' } })
    : createGraphQLError('A credential is required.', { extensions: { code: 'UNAUTHENTICATED' } });
}

/**
 * Yoga's error mask: expected failures (AuditError) keep their message and gain their stable code;
 * a database that cannot be reached is DATABASE_UNAVAILABLE (retryable); anything else is masked.
 */
export function maskError(error: unknown, message: string, logUnexpected: (error: unknown) => void): Error {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const path = error instanceof GraphQLError ? error.path : undefined;
  if (original instanceof AuditError) {
    return createGraphQLError(original.message, { path, extensions: { code: original.code, ...original.details } });
  }
  if (isConnectionError(original)) {
    logUnexpected(original);
    return createGraphQLError('The database is unavailable; nothing was stored. Retry later.', {
      path,
      extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
    });
  }
  if (error instanceof GraphQLError && (!error.originalError || error.originalError instanceof GraphQLError)) {
    // A GraphQL-level error: one of ours with a code, or the request's own fault (variables that do
    // not coerce, a scalar that does not parse), which has no path because no field ran.
    if (error.extensions?.code) return error;
    const inner = error.originalError as GraphQLError | undefined;
    if (inner?.extensions?.code) return createGraphQLError(inner.message, { path, extensions: inner.extensions });
    if (!path) return createGraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } });
  }
  logUnexpected(original);
  return createGraphQLError(message, { path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
