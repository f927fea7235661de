import type { EntityView } from '../../audit/model.js';
import { entityUsage, findEntity, type CountBy, type Usage as UsageView } from '../../history/entities.js';
import { builder } from '../builder.js';

export const Entity = builder.objectRef<EntityView>('Entity').implement({
  description: 'A thing events are about: a query, a job, a dataset, a file…, named by its type and external id.',
  fields: (t) => ({
    id: t.exposeID('externalId', { description: 'The external id (UUID, IRI, path…), unique within the type.' }),
    type: t.exposeString('type'),
    name: t.exposeString('name', { nullable: true }),
    internalId: t.exposeID('id', { description: 'This service’s own id for the entity.' }),
  }),
});

export const EntityRefInput = builder.inputType('EntityRefInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    id: t.id({ required: true }),
  }),
});

export const CountByRef = builder.objectRef<CountBy>('CountBy').implement({
  fields: (t) => ({ key: t.exposeString('key'), count: t.exposeInt('count') }),
});

export const Usage = builder.objectRef<UsageView>('Usage').implement({
  description: 'An overview of activity: totals and counts by event type, by user and by UTC day.',
  fields: (t) => ({
    since: t.expose('since', { type: 'DateTime' }),
    total: t.exposeInt('total'),
    distinctUsers: t.exposeInt('distinctUsers'),
    byType: t.field({ type: [CountByRef], resolve: (u) => u.byType }),
    byUser: t.field({ type: [CountByRef], resolve: (u) => u.byUser }),
    byDay: t.field({ type: [CountByRef], description: 'Oldest day first; key is YYYY-MM-DD.', resolve: (u) => u.byDay }),
  }),
});

builder.objectField(Entity, 'usage', (t) =>
  t.field({
    type: Usage,
    args: { days: t.arg.int({ defaultValue: 7 }) },
    resolve: (entity, args, ctx) => entityUsage(ctx.services.db, entity.id, args.days ?? 7),
  }),
);

builder.queryFields((t) => ({
  entity: t.field({
    type: Entity,
    nullable: true,
    authScopes: { read: true },
    args: { type: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => findEntity(ctx.services.db, args.type, String(args.id)),
  }),
}));
