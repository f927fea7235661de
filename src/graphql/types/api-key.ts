import type { ApiKeyView } from '../../auth/api-keys.js';
import type { Scope } from '../../auth/credentials.js';
import { builder } from '../builder.js';

export const ApiScope = builder.enumType('ApiScope', {
  description: 'AUDIT_WRITE posts events; AUDIT_READ reads everything; AUDIT_ADMIN manages settings, groups, keys, exports and retention.',
  values: { AUDIT_READ: { value: 'audit:read' }, AUDIT_WRITE: { value: 'audit:write' }, AUDIT_ADMIN: { value: 'audit:admin' } } as const,
});

const ApiKey = builder.objectRef<ApiKeyView>('ApiKey').implement({
  description: 'An API key. The key itself is shown once, by createApiKey; only its hash is stored.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    scopes: t.field({ type: [ApiScope], resolve: (k) => k.scopes as Scope[] }),
    user: t.exposeString('userLogin', { nullable: true, description: 'The user the key is bound to: it may read that user’s own activity.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; apiKey: ApiKeyView }>('CreatedApiKey').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key: send it as `Authorization: Bearer <key>`. It is never shown again.' }),
    apiKey: t.field({ type: ApiKey, resolve: (c) => c.apiKey }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [ApiScope], required: true }),
    user: t.string({ required: false, description: 'Bind the key to this user login.' }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKey],
    description: 'Every API key, newest first (never the keys themselves).',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.services.auth.listApiKeys(),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    description: 'Creates an API key and returns it, this once.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.auth.createApiKey({ name: input.name, scopes: input.scopes, userLogin: input.user, expiresAt: input.expiresAt }, ctx.auth),
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    description: 'Revokes an API key: its requests are refused and its WebSockets closed, on every instance.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.auth.revokeApiKey(String(args.id), ctx.auth),
  }),
}));
