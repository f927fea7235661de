import type { LogOutcome } from '../../audit/ingest.js';
import { checkClientType } from '../../audit/event-types.js';
import { LEFT_OUT_REASONS, type LogInput as LogInputShape } from '../../audit/model.js';
import { builder } from '../builder.js';
import { Event, EventSource } from './event.js';

export const LogInput = builder.inputType('LogInput', {
  fields: (t) => ({
    type: t.string({ required: false, description: 'Event type name; `log` when left out. A new name creates a custom type.' }),
    message: t.string({ required: false }),
    parameters: t.field({
      type: 'JSON',
      required: false,
      description: 'A JSON object of name → value. `{type, id, name?}` (or a list of them) references an entity.',
    }),
    user: t.string({ required: false, description: 'Login of the acting user; created on first sight.' }),
    sessionId: t.id({ required: false, description: 'A session from startSession; its user is the event’s user.' }),
    source: t.field({ type: EventSource, required: false, description: 'API when left out.' }),
    occurredAt: t.field({ type: 'DateTime', required: false, description: 'Now when left out; not in the future.' }),
    durationMs: t.float({ required: false }),
    errorMessage: t.string({ required: false }),
    stackTrace: t.string({ required: false, description: 'Errors with the same normalised stack trace share a fingerprint.' }),
    idempotencyKey: t.string({ required: false, description: 'A repeat of a stored key stores nothing and returns the stored event.' }),
  }),
});

type LogInputArg = typeof LogInput.$inferInput;

/** A posted event as the domain takes it; `index` names it in a batch. */
function toLogInput(input: LogInputArg, index?: number): LogInputShape {
  if (input.type) checkClientType(input.type, index === undefined ? 'type' : `events[${index}].type`, index === undefined ? {} : { index });
  return { ...input, sessionId: input.sessionId === null || input.sessionId === undefined ? null : String(input.sessionId) };
}

const LeftOutReason = builder.enumType('LeftOutReason', {
  description: 'Why an event was not recorded: its type is switched off for its user, or it came again inside the throttle interval.',
  values: LEFT_OUT_REASONS,
});

const LeftOutCount = builder.objectRef<{ reason: (typeof LEFT_OUT_REASONS)[number]; count: number }>('LeftOutCount').implement({
  fields: (t) => ({ reason: t.field({ type: LeftOutReason, resolve: (c) => c.reason }), count: t.exposeInt('count') }),
});

const LogResult = builder.objectRef<LogOutcome>('LogResult').implement({
  fields: (t) => ({
    recorded: t.exposeBoolean('recorded', { description: 'The event is stored (now, or earlier under the same idempotency key); false when the logger settings left it out.' }),
    reason: t.field({ type: LeftOutReason, nullable: true, description: 'Why the event was not recorded; null when it was.', resolve: (o) => o.reason }),
    duplicate: t.exposeBoolean('duplicate', { description: 'The idempotency key matched a stored event; nothing new was written.' }),
    event: t.field({ type: Event, nullable: true, resolve: (o) => o.event }),
  }),
});

const LogBatchResult = builder
  .objectRef<{ results: LogOutcome[] }>('LogBatchResult')
  .implement({
    fields: (t) => ({
      recorded: t.int({ description: 'Events stored by this call.', resolve: (r) => r.results.filter((o) => o.recorded && !o.duplicate).length }),
      leftOut: t.int({ description: 'Events the logger settings left out (not stored).', resolve: (r) => r.results.filter((o) => !o.recorded).length }),
      leftOutByReason: t.field({
        type: [LeftOutCount],
        description: 'The left-out events by reason, every reason listed.',
        resolve: (r) => LEFT_OUT_REASONS.map((reason) => ({ reason, count: r.results.filter((o) => o.reason === reason).length })),
      }),
      duplicates: t.int({ description: 'Events already stored under their idempotency key.', resolve: (r) => r.results.filter((o) => o.duplicate).length }),
      results: t.field({ type: [LogResult], description: 'One result per input event, in input order.', resolve: (r) => r.results }),
    }),
  });

builder.mutationFields((t) => ({
  log: t.field({
    type: LogResult,
    description: 'Records one event.',
    authScopes: { write: true },
    args: { input: t.arg({ type: LogInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.ingestor.log(toLogInput(args.input)),
  }),
  logBatch: t.field({
    type: LogBatchResult,
    description: 'Records several events in one transaction: all of them or, on any error, none.',
    authScopes: { write: true },
    args: { events: t.arg({ type: [LogInput], required: true }) },
    resolve: async (_root, args, ctx) => ({ results: await ctx.services.ingestor.logBatch(args.events.map((input, i) => toLogInput(input, i))) }),
  }),
}));
