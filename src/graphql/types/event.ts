import { EVENT_SOURCES, type AuditEvent, type EventParameterView } from '../../audit/model.js';
import { decodeFeedPosition, encodeFeedPosition } from '../../history/committed-feed.js';
import { checkPageSize, encodeCursor, findEvent, findEvents, type EventFilter } from '../../history/events.js';
import { withSearchQuery } from '../../history/search-syntax.js';
import { visibleEvent } from '../../auth/visibility.js';
import { AuditError } from '../../errors.js';
import { compileFilter } from '../../live/filter-match.js';
import { OVERFLOW, type LiveItem } from '../../live/event-bus.js';
import { subscribeToEvents } from '../../live/subscription.js';
import { builder, type Context } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { Entity, EntityRefInput } from './entity.js';

export const EventSource = builder.enumType('EventSource', {
  description: 'Where an event was produced: a user interface, an API call, a client or a server process.',
  values: EVENT_SOURCES,
});

export const EventParameter = builder.objectRef<EventParameterView>('EventParameter').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    value: t.exposeString('value', { nullable: true, description: 'The value as text; for an entity, its id.' }),
    entity: t.field({ type: Entity, nullable: true, resolve: (p) => p.entity }),
  }),
});

export const Event = builder.objectRef<AuditEvent>('Event').implement({
  description: 'One audit event. Events are never changed or deleted through the API.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type'),
    category: t.exposeString('category'),
    isError: t.exposeBoolean('isError'),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    recordedAt: t.expose('recordedAt', { type: 'DateTime' }),
    user: t.exposeString('userLogin', { nullable: true, description: 'Login of the user.' }),
    sessionId: t.exposeID('sessionId', { nullable: true }),
    source: t.field({ type: EventSource, resolve: (e) => e.source }),
    message: t.exposeString('description', { nullable: true }),
    durationMs: t.exposeFloat('durationMs', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    stackTrace: t.exposeString('stackTrace', { nullable: true }),
    fingerprint: t.exposeString('fingerprint', { nullable: true, description: 'Groups errors with the same cause.' }),
    parameters: t.field({ type: [EventParameter], resolve: (e) => e.parameters }),
    params: t.field({
      type: 'JSON',
      description: 'The parameters as one object: name → value (a list where a name has several entities).',
      resolve: (e) => paramsObject(e.parameters),
    }),
    cursor: t.string({ description: 'This event’s position in newest-first order (for `events(after:)`).', resolve: (e) => encodeCursor(e.occurredAt, e.id) }),
    feedCursor: t.string({
      description: 'This event’s position in commit order: pass the last one received as `after` to resume a subscription.',
      resolve: (e) => encodeFeedPosition(e.position),
    }),
  }),
});

function paramsObject(parameters: EventParameterView[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const p of parameters) {
    const value = p.entity ? { type: p.entity.type, id: p.entity.externalId, name: p.entity.name } : p.value;
    const existing = result[p.name];
    result[p.name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return result;
}

export const EventConnection = connectionOf('Event', Event);

export const EventFilterInput = builder.inputType('EventFilter', {
  description: 'Every condition given must hold.',
  fields: (t) => ({
    types: t.stringList({ required: false, description: 'Event type names.' }),
    categories: t.stringList({ required: false }),
    user: t.string({ required: false, description: 'User login.' }),
    group: t.string({ required: false, description: 'Group name; members of child groups count too.' }),
    entity: t.field({ type: EntityRefInput, required: false }),
    sessionId: t.id({ required: false }),
    sources: t.field({ type: [EventSource], required: false }),
    since: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
    errorsOnly: t.boolean({ required: false }),
    text: t.string({ required: false, description: 'Case-insensitive text in the message.' }),
  }),
});

export type EventFilterArg = typeof EventFilterInput.$inferInput;

export function toEventFilter(input: EventFilterArg | null | undefined): EventFilter {
  if (!input) return {};
  return { ...input, sessionId: input.sessionId === null || input.sessionId === undefined ? null : String(input.sessionId) };
}

/** Parses paging arguments and checks them against the configured maximum page size. */
export function page(ctx: Context, args: { first?: number | null; after?: string | null }) {
  const first = args.first ?? 50;
  checkPageSize(first, ctx.services.limits.MAX_PAGE_SIZE);
  return { first, after: args.after ?? null };
}

builder.queryFields((t) => ({
  event: t.field({
    type: Event,
    nullable: true,
    description: 'One event; a user-bound credential without audit:read sees only its user’s events (null otherwise).',
    authScopes: { read: true, bound: true, viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => visibleEvent(ctx.auth, await findEvent(ctx.services.db, String(args.id))),
  }),
  events: t.field({
    type: EventConnection,
    description:
      'Events matching the filter and the search query, newest first. A user-bound credential without audit:read gets its user’s events only.',
    authScopes: { read: true, bound: true, viewer: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      query: t.arg.string({
        required: false,
        description: 'Search syntax: type:query-* user:alice entity:query/42 source:ui since:2026-01-01 until:… error:true category:… group:… session:… "free text"',
      }),
      ...pageArgs(t.arg),
    },
    resolve: (_root, args, ctx) =>
      findEvents(
        ctx.services.db,
        // The search query narrows the filter first; what the caller may read narrows it last.
        ctx.services.auth.readable(ctx.auth, withSearchQuery(toEventFilter(args.filter), args.query), 'Query.events'),
        page(ctx, args),
      ),
  }),
}));

/**
 * A live feed of committed events that match and that the caller may read (the same rule as the
 * events query), resumed after `after` (a feedCursor) when given; ends with SUBSCRIBER_TOO_SLOW if
 * it falls behind.
 */
export async function liveEvents(ctx: Context, filter: EventFilter, field: string, after?: string | null): Promise<AsyncIterable<LiveItem>> {
  const position = after ? decodeFeedPosition(after) : null;
  const { db, bus, limits, auth } = ctx.services;
  return subscribeToEvents(db, bus, await compileFilter(db, auth.readable(ctx.auth, filter, field)), limits.SUBSCRIBER_BUFFER, position);
}

const afterArg = {
  description: 'Resume: the feedCursor of the last event received. Stored events after it come first, then live ones.',
  required: false,
} as const;

/** Why a live subscriber was ended: its own buffer, or its socket's backlog, reached SUBSCRIBER_BUFFER. */
export function tooSlow(): AuditError {
  return new AuditError('SUBSCRIBER_TOO_SLOW', 'This subscriber fell too far behind and was ended; subscribe again and catch up with the events query.');
}

export function liveItem(item: LiveItem): AuditEvent {
  if (item === OVERFLOW) throw tooSlow();
  return item;
}

builder.subscriptionFields((t) => ({
  events: t.field({
    type: Event,
    description: 'Each committed event that matches the filter, as it is stored.',
    authScopes: { read: true, bound: true, viewer: true },
    args: { filter: t.arg({ type: EventFilterInput, required: false }), after: t.arg.string(afterArg) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, toEventFilter(args.filter), 'Subscription.events', args.after),
    resolve: liveItem,
  }),
  errors: t.field({
    type: Event,
    description: 'The live error feed: each committed error event with its fingerprint.',
    authScopes: { read: true, bound: true, viewer: true },
    args: { filter: t.arg({ type: EventFilterInput, required: false }), after: t.arg.string(afterArg) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, { ...toEventFilter(args.filter), errorsOnly: true }, 'Subscription.errors', args.after),
    resolve: liveItem,
  }),
}));
