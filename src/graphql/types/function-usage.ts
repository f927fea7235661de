import { declareFunctionParameters, functionUsage, type FunctionCall } from '../../history/function-usage.js';
import { builder } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { Event, EventFilterInput, page, toEventFilter } from './event.js';

const FunctionCallRef = builder.objectRef<FunctionCall>('FunctionCall').implement({
  description: 'One call of a function-like event type.',
  fields: (t) => ({
    function: t.exposeString('function', { description: 'The function name (the event type when the event names none).' }),
    type: t.string({ resolve: (c) => c.event.type }),
    user: t.string({ nullable: true, resolve: (c) => c.event.userLogin }),
    occurredAt: t.field({ type: 'DateTime', resolve: (c) => c.event.occurredAt }),
    durationMs: t.float({ nullable: true, resolve: (c) => c.event.durationMs }),
    inputs: t.field({ type: 'JSON', description: 'Input parameters: name → value (an entity as {type, id, name}).', resolve: (c) => c.inputs }),
    outputs: t.field({ type: 'JSON', resolve: (c) => c.outputs }),
    error: t.string({ nullable: true, description: 'The error message when the call failed.', resolve: (c) => (c.event.isError ? (c.event.errorMessage ?? '') : null) }),
    event: t.field({ type: Event, resolve: (c) => c.event }),
  }),
});
const FunctionCallConnection = connectionOf('FunctionCall', FunctionCallRef);

builder.queryFields((t) => ({
  functionUsage: t.field({
    type: FunctionCallConnection,
    description: 'Calls of function-like event types (source `function`, or with declared inputs/outputs), newest first.',
    authScopes: { read: true },
    args: {
      name: t.arg.string({ required: false, description: 'A function name or a function-like event type.' }),
      filter: t.arg({ type: EventFilterInput, required: false }),
      ...pageArgs(t.arg),
    },
    resolve: (_root, args, ctx) => functionUsage(ctx.services.db, args.name, toEventFilter(args.filter), page(ctx, args)),
  }),
}));

builder.mutationFields((t) => ({
  declareFunctionParameters: t.boolean({
    description: 'Declares parameters of an event type as inputs or outputs; the type then counts as a function.',
    authScopes: { admin: true },
    args: {
      type: t.arg.string({ required: true }),
      inputs: t.arg.stringList({ defaultValue: [] }),
      outputs: t.arg.stringList({ defaultValue: [] }),
    },
    resolve: async (_root, args, ctx) => {
      await declareFunctionParameters(ctx.services.db, ctx.services.types, args.type, args.inputs ?? [], args.outputs ?? []);
      return true;
    },
  }),
}));
