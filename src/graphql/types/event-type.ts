import type { EventTypeRow } from '../../audit/event-types.js';
import { builder } from '../builder.js';

const EventType = builder.objectRef<EventTypeRow>('EventType').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    category: t.exposeString('category'),
    source: t.exposeString('source', { description: 'audit, error, function or custom.' }),
    friendlyName: t.exposeString('friendlyName', { nullable: true }),
    standard: t.exposeBoolean('standard', { description: 'Recorded at the Standard logging level.' }),
    isError: t.exposeBoolean('isError'),
    builtin: t.exposeBoolean('builtin'),
  }),
});

builder.queryFields((t) => ({
  eventTypes: t.field({
    type: [EventType],
    description: 'The catalogue: built-in types and custom types created on first use, by name.',
    authScopes: { read: true, bound: true },
    args: { category: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const rows = await ctx.services.types.reload();
      return args.category ? rows.filter((row) => row.category === args.category) : rows;
    },
  }),
}));
