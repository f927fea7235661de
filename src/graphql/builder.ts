import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { AuthContext } from '../auth/credentials.js';
import { canRead, canWrite } from '../auth/visibility.js';
import type { Services } from '../services.js';
import { forbidden } from './errors.js';

export interface Context {
  services: Services;
  auth: AuthContext;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  /**
   * read, write, admin: the credential's audit:* scopes (admin includes read and write); bound: the
   * credential acts for a user (who may read their own activity); self: it acts for this user login;
   * viewer: a viewer token (one entity's or group's activity).
   */
  AuthScopes: { read: boolean; write: boolean; admin: boolean; bound: boolean; self: string; viewer: boolean };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      read: canRead(ctx.auth),
      write: canWrite(ctx.auth),
      admin: ctx.auth.scopes.has('audit:admin'),
      bound: ctx.auth.userLogin !== null,
      self: (login) => ctx.auth.userLogin !== null && ctx.auth.userLogin === login,
      viewer: Boolean(ctx.auth.viewer),
    }),
    // Checked when a subscription starts, not only per event: a refused caller never subscribes.
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, info, result) => {
      // Every refused administrative call leaves an audit event (recorded in the background).
      if (info.path.prev === undefined && requiredAdmin(result.failure)) {
        ctx.services.auth.recordDenial(ctx.auth, `${info.parentType.name}.${info.fieldName}`);
      }
      return forbidden(ctx.auth);
    },
  },
});

function requiredAdmin(failure: AuthFailure): boolean {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope === 'admin';
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    return failure.failures.some(requiredAdmin);
  }
  return false;
}

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
