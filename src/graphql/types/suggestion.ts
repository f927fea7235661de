import {
  approveSuggestion,
  cancelSuggestion,
  findSuggestions,
  proposeSuggestion,
  rejectSuggestion,
  suggestionUpdateMatcher,
  toSuggestionUpdate,
  SUGGESTION_STATUSES,
  type SuggestionFilter as SuggestionFilterShape,
  type SuggestionUpdate as SuggestionUpdateView,
  type SuggestionView,
  findSuggestion,
} from '../../changes/suggestions.js';
import { findEvent } from '../../history/events.js';
import { builder, type Context } from '../builder.js';
import { ChangeAction, ChangeInput, who } from './changes.js';
import { connectionOf, pageArgs } from './connection.js';
import { Entity, EntityRefInput } from './entity.js';
import { Event, EventSource, liveItem, page } from './event.js';

const SuggestionStatus = builder.enumType('SuggestionStatus', { values: SUGGESTION_STATUSES });

const ProposedChange = builder.objectRef<SuggestionView['changes'][number]>('ProposedChange').implement({
  fields: (t) => ({
    action: t.field({ type: ChangeAction, resolve: (c) => c.action }),
    field: t.exposeString('field'),
    value: t.exposeString('value', { nullable: true }),
    dataType: t.exposeString('dataType', { nullable: true }),
    language: t.exposeString('language', { nullable: true }),
  }),
});

const eventById = (ctx: Context, id: string | null) => (id ? findEvent(ctx.services.db, id) : null);

export const Suggestion = builder.objectRef<SuggestionView>('Suggestion').implement({
  description: 'A proposed change to an entity, decided once by a member of its approver group (or an administrator).',
  fields: (t) => ({
    id: t.exposeID('id'),
    target: t.field({ type: Entity, resolve: (s) => s.target }),
    requestor: t.exposeString('requestor', { description: 'Login of the user who proposed it.' }),
    approverGroup: t.exposeString('approverGroup', { description: 'The group whose members (directly or through child groups) may approve or reject it.' }),
    status: t.field({ type: SuggestionStatus, resolve: (s) => s.status }),
    completedBy: t.exposeString('completedBy', { nullable: true, description: 'Login of who approved, rejected or cancelled it.' }),
    changes: t.field({ type: [ProposedChange], resolve: (s) => s.changes }),
    comment: t.exposeString('comment', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true, description: 'The reason given when it was decided.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    decidedAt: t.expose('decidedAt', { type: 'DateTime', nullable: true }),
    proposalEvent: t.field({ type: Event, resolve: (s, _a, ctx) => findEvent(ctx.services.db, s.proposalEventId).then((e) => e!) }),
    decisionEvent: t.field({ type: Event, nullable: true, resolve: (s, _a, ctx) => eventById(ctx, s.decisionEventId) }),
    appliedEvent: t.field({
      type: Event,
      nullable: true,
      description: 'The changeset.applied event of an approved suggestion.',
      resolve: (s, _a, ctx) => eventById(ctx, s.appliedEventId),
    }),
  }),
});

const SuggestionConnection = connectionOf('Suggestion', Suggestion);

const SuggestionFilter = builder.inputType('SuggestionFilter', {
  description: 'Every condition given must hold.',
  fields: (t) => ({
    statuses: t.field({ type: [SuggestionStatus], required: false }),
    target: t.field({ type: EntityRefInput, required: false }),
    requestor: t.string({ required: false, description: 'Login.' }),
    approverGroup: t.string({ required: false, description: 'Group name.' }),
    completedBy: t.string({ required: false, description: 'Login of who approved, rejected or cancelled it.' }),
    since: t.field({ type: 'DateTime', required: false, description: 'Proposed at or after (inclusive).' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Proposed before (exclusive).' }),
  }),
});

function toFilter(input: typeof SuggestionFilter.$inferInput | null | undefined): SuggestionFilterShape {
  if (!input) return {};
  return { ...input, target: input.target ? { type: input.target.type, id: String(input.target.id) } : null };
}

const SuggestionUpdate = builder.objectRef<SuggestionUpdateView>('SuggestionUpdate').implement({
  description: 'One step of a suggestion (proposed, approved, rejected, cancelled), as it is recorded.',
  fields: (t) => ({
    suggestionId: t.exposeID('suggestionId'),
    status: t.field({ type: SuggestionStatus, description: 'The status this step left the suggestion in.', resolve: (u) => u.status }),
    event: t.field({ type: Event, resolve: (u) => u.event }),
    suggestion: t.field({
      type: Suggestion,
      nullable: true,
      description: 'The suggestion as it is now.',
      resolve: (u, _a, ctx) => findSuggestion(ctx.services.db, u.suggestionId),
    }),
  }),
});

const ACTOR = 'Login of the acting user, used when the credential is not bound to a user.';

builder.objectField(Entity, 'suggestions', (t) =>
  t.field({
    type: SuggestionConnection,
    description: 'Suggestions about this entity, newest first.',
    args: { statuses: t.arg({ type: [SuggestionStatus], required: false }), ...pageArgs(t.arg) },
    resolve: (entity, args, ctx) =>
      findSuggestions(ctx.services.db, { statuses: args.statuses, target: { type: entity.type, id: entity.externalId } }, page(ctx, args), ctx.services.limits.MAX_PAGE_SIZE),
  }),
);

builder.queryFields((t) => ({
  suggestions: t.field({
    type: SuggestionConnection,
    description: 'Suggestions matching the filter, newest first.',
    authScopes: { read: true },
    args: { filter: t.arg({ type: SuggestionFilter, required: false }), ...pageArgs(t.arg) },
    resolve: (_root, args, ctx) => findSuggestions(ctx.services.db, toFilter(args.filter), page(ctx, args), ctx.services.limits.MAX_PAGE_SIZE),
  }),
}));

builder.mutationFields((t) => ({
  proposeSuggestion: t.field({
    type: Suggestion,
    description: 'Proposes changes to an entity for a member of `approverGroup` to approve (a suggestion.create event).',
    authScopes: { write: true },
    args: {
      target: t.arg({ type: EntityRefInput, required: true }),
      changes: t.arg({ type: [ChangeInput], required: true }),
      approverGroup: t.arg.string({ required: true }),
      comment: t.arg.string({ required: false }),
      source: t.arg({ type: EventSource, required: false }),
      actor: t.arg.string({ required: false, description: ACTOR }),
    },
    resolve: (_root, args, ctx) =>
      proposeSuggestion(
        ctx.services,
        { ...args, target: { type: args.target.type, id: String(args.target.id) } },
        who(ctx, args.actor),
      ),
  }),
  approveSuggestion: t.field({
    type: Suggestion,
    description: 'Applies the proposed changes as a changeset.applied event and records suggestion.approve. Members of the approver group or administrators; once.',
    authScopes: { write: true },
    args: { id: t.arg.id({ required: true }), comment: t.arg.string({ required: false }), source: t.arg({ type: EventSource, required: false }), actor: t.arg.string({ required: false, description: ACTOR }) },
    resolve: (_root, args, ctx) =>
      approveSuggestion(ctx.services, String(args.id), args.comment ?? null, who(ctx, args.actor), args.source),
  }),
  rejectSuggestion: t.field({
    type: Suggestion,
    description: 'Records suggestion.reject with a reason. Members of the approver group or administrators; once.',
    authScopes: { write: true },
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }), source: t.arg({ type: EventSource, required: false }), actor: t.arg.string({ required: false, description: ACTOR }) },
    resolve: (_root, args, ctx) =>
      rejectSuggestion(ctx.services, String(args.id), args.reason ?? null, who(ctx, args.actor), args.source),
  }),
  cancelSuggestion: t.field({
    type: Suggestion,
    description: 'Records suggestion.cancel. Only the requestor, while it is still proposed.',
    authScopes: { write: true },
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }), source: t.arg({ type: EventSource, required: false }), actor: t.arg.string({ required: false, description: ACTOR }) },
    resolve: (_root, args, ctx) =>
      cancelSuggestion(ctx.services, String(args.id), args.reason ?? null, who(ctx, args.actor), args.source),
  }),
}));

builder.subscriptionFields((t) => ({
  suggestionUpdates: t.field({
    type: SuggestionUpdate,
    description: 'Each committed step of the suggestions that match (status is the status the step left).',
    authScopes: { read: true },
    args: { filter: t.arg({ type: SuggestionFilter, required: false }) },
    subscribe: (_root, args, ctx) => ctx.services.bus.subscribe(suggestionUpdateMatcher(toFilter(args.filter)), ctx.services.limits.SUBSCRIBER_BUFFER),
    resolve: (item) => toSuggestionUpdate(liveItem(item)),
  }),
}));
