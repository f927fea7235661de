import {
  actingUser,
  entityChanges,
  recordChanges,
  type ChangesetView,
  type ChangeView,
} from '../../changes/changesets.js';
import { revertChanges } from '../../changes/revert.js';
import { CHANGE_ACTIONS, stateAt, type EntityStateView, type FieldValue as FieldValueView } from '../../changes/state.js';
import { findEvent } from '../../history/events.js';
import { builder, type Context } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { Entity, EntityRefInput } from './entity.js';
import { Event, EventSource, page } from './event.js';

export const ChangeAction = builder.enumType('ChangeAction', {
  description: 'SET replaces a field’s value(s) (null clears it); ADD and REMOVE add or remove one value of a multi-valued field.',
  values: CHANGE_ACTIONS,
});

const Change = builder.objectRef<ChangeView>('Change').implement({
  description: 'One field-level change of a changeset.',
  fields: (t) => ({
    sequence: t.exposeInt('sequence', { description: 'Order within the changeset, from 1.' }),
    action: t.field({ type: ChangeAction, resolve: (c) => c.action }),
    field: t.exposeString('field', { description: 'The field (predicate) changed.' }),
    value: t.exposeString('value', { nullable: true, description: 'The value set, added or removed (null: SET cleared the field).' }),
    previousValue: t.exposeString('previousValue', {
      nullable: true,
      description: 'What the change replaced: for SET the field’s value before (a JSON array when it had several); for ADD and REMOVE the value when it was already present.',
    }),
    dataType: t.exposeString('dataType', { nullable: true }),
    language: t.exposeString('language', { nullable: true }),
  }),
});

export const Changeset = builder.objectRef<ChangesetView>('Changeset').implement({
  description: 'An event with its field-level changes on one entity.',
  fields: (t) => ({
    event: t.field({ type: Event, resolve: (c) => c.event }),
    version: t.exposeInt('version', {
      nullable: true,
      description: 'The entity version this changeset made (changesets apply in version order); null for a proposal.',
    }),
    changes: t.field({ type: [Change], resolve: (c) => c.changes }),
    reverts: t.field({
      type: Event,
      nullable: true,
      description: 'The changeset this one reverted.',
      resolve: (c, _args, ctx) => {
        const id = c.event.parameters.find((p) => p.name === 'reverts')?.value;
        return id ? findEvent(ctx.services.db, id) : null;
      },
    }),
  }),
});

const ChangesetConnection = connectionOf('Changeset', Changeset);

const FieldValue = builder.objectRef<FieldValueView>('FieldValue').implement({
  fields: (t) => ({
    value: t.exposeString('value'),
    dataType: t.exposeString('dataType', { nullable: true }),
    language: t.exposeString('language', { nullable: true }),
  }),
});

const FieldState = builder.objectRef<{ field: string; values: FieldValueView[] }>('FieldState').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    value: t.string({ nullable: true, description: 'The first value (the only one of a single-valued field).', resolve: (f) => f.values[0]?.value ?? null }),
    values: t.field({ type: [FieldValue], description: 'Every value, in the order they were added.', resolve: (f) => f.values }),
  }),
});

const EntityState = builder.objectRef<EntityStateView>('EntityState').implement({
  description: 'An entity’s fields at a moment, rebuilt from its changesets.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', nullable: true, description: 'The moment asked for; null for the current state.' }),
    version: t.exposeInt('version', { description: 'How many changesets had applied.' }),
    fields: t.field({
      type: [FieldState],
      description: 'Fields that hold a value, by name.',
      resolve: (s) =>
        Object.keys(s.fields)
          .sort()
          .map((field) => ({ field, values: s.fields[field]! })),
    }),
    values: t.field({ type: 'JSON', description: 'The same as one object: field → value, or a list where a field has several.', resolve: (s) => asObject(s) }),
  }),
});

function asObject(s: EntityStateView): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of Object.keys(s.fields).sort()) {
    const values = s.fields[field]!.map((v) => v.value);
    result[field] = values.length === 1 ? values[0] : values;
  }
  return result;
}

export const ChangeInput = builder.inputType('ChangeInput', {
  fields: (t) => ({
    action: t.field({ type: ChangeAction, required: false, defaultValue: 'SET' }),
    field: t.string({ required: true, description: 'The field (predicate), at most 1000 characters.' }),
    value: t.string({ required: false, description: 'Required for ADD and REMOVE; SET with null clears the field.' }),
    dataType: t.string({ required: false, description: 'e.g. string, integer, date, uri.' }),
    language: t.string({ required: false, description: 'A language tag, e.g. en.' }),
  }),
});

const RecordChangesInput = builder.inputType('RecordChangesInput', {
  fields: (t) => ({
    target: t.field({ type: EntityRefInput, required: true, description: 'The entity changed; created on first sight.' }),
    type: t.string({ required: false, description: 'resource.update when left out; resource.create, resource.delete or a custom type.' }),
    source: t.field({ type: EventSource, required: false, description: 'UI or API (default).' }),
    message: t.string({ required: false }),
    changes: t.field({ type: [ChangeInput], required: true, description: 'Applied in this order, 1 to 1000 of them.' }),
  }),
});

/** The acting user of a change: the credential’s user, else the `actor` argument. */
export function who(ctx: Context, actor: string | null | undefined) {
  return actingUser(ctx.auth.userLogin, actor, ctx.auth.scopes.has('audit:admin'));
}

builder.objectField(Entity, 'changes', (t) =>
  t.field({
    type: ChangesetConnection,
    description: 'Changesets applied to this entity, newest first, each with its changes in sequence.',
    args: pageArgs(t.arg),
    resolve: (entity, args, ctx) => entityChanges(ctx.services.db, entity.id, page(ctx, args), ctx.services.limits.MAX_PAGE_SIZE),
  }),
);

builder.objectField(Entity, 'stateAt', (t) =>
  t.field({
    type: EntityState,
    description: 'The fields as they stood at `at` (changesets that occurred at or before it); the current state without it.',
    args: { at: t.arg({ type: 'DateTime', required: false }) },
    resolve: (entity, args, ctx) => stateAt(ctx.services.db, entity.id, args.at ?? null),
  }),
);

builder.mutationFields((t) => ({
  recordChanges: t.field({
    type: Changeset,
    description: 'Records an event with field-level changes on an entity; each change gets the previous value from the entity’s current state.',
    authScopes: { write: true },
    args: {
      input: t.arg({ type: RecordChangesInput, required: true }),
      actor: t.arg.string({ required: false, description: 'Login of the acting user, used when the credential is not bound to a user.' }),
    },
    resolve: (_root, args, ctx) =>
      recordChanges(ctx.services, { ...args.input, target: { type: args.input.target.type, id: String(args.input.target.id) } }, who(ctx, args.actor)),
  }),
  revertChanges: t.field({
    type: Changeset,
    description:
      'Records a new changeset that undoes event `eventId` (refused when its fields changed since, unless `force`), or that restores `entity` to its state at `to`.',
    authScopes: { write: true },
    args: {
      eventId: t.arg.id({ required: false }),
      entity: t.arg({ type: EntityRefInput, required: false }),
      to: t.arg({ type: 'DateTime', required: false }),
      force: t.arg.boolean({ required: false, defaultValue: false }),
      source: t.arg({ type: EventSource, required: false }),
      message: t.arg.string({ required: false }),
      actor: t.arg.string({ required: false, description: 'Login of the acting user, used when the credential is not bound to a user.' }),
    },
    resolve: (_root, args, ctx) =>
      revertChanges(
        ctx.services,
        {
          ...args,
          eventId: args.eventId === null || args.eventId === undefined ? null : String(args.eventId),
          entity: args.entity ? { type: args.entity.type, id: String(args.entity.id) } : null,
        },
        who(ctx, args.actor),
      ),
  }),
}));
