import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { AuthContext } from '../auth/credentials.js';
import type { Services } from '../services.js';
import { forbidden } from './errors.js';

export interface Context {
  services: Services;
  auth: AuthContext;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { read: boolean; write: boolean; admin: boolean };
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
      read: ctx.auth.scopes.has('audit:read'),
      write: ctx.auth.scopes.has('audit:write'),
      admin: ctx.auth.scopes.has('audit:admin'),
    }),
    unauthorizedError: (_parent, ctx) => forbidden(ctx.auth),
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
