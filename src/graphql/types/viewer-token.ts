import { builder } from '../builder.js';
import { EntityRefInput } from './entity.js';

const ViewerToken = builder.objectRef<{ token: string; expiresAt: Date }>('ViewerToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>` (HTTP) or in the graphql-ws connection parameters.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationFields((t) => ({
  createViewerToken: t.field({
    type: ViewerToken,
    description:
      'A short-lived token that reads only one entity’s or one group’s activity (events, event, and the events, errors and entityActivity subscriptions), for a frontend to embed. Each use is recorded as audit-log-viewed.',
    authScopes: { admin: true },
    args: {
      entity: t.arg({ type: EntityRefInput, required: false }),
      group: t.arg.string({ required: false }),
      ttlSeconds: t.arg.int({ defaultValue: 900, description: 'Lifetime, 1 s to 24 h; 15 minutes by default.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.auth.createViewerToken(
        { entity: args.entity ? { type: args.entity.type, id: String(args.entity.id) } : null, group: args.group },
        args.ttlSeconds ?? 900,
        ctx.auth,
      ),
  }),
}));
