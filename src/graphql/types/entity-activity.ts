import { entityActivity } from '../../history/entities.js';
import { builder } from '../builder.js';
import { pageArgs } from './connection.js';
import { Entity } from './entity.js';
import { Event, EventConnection, liveEvents, liveItem, page } from './event.js';

builder.objectField(Entity, 'activity', (t) =>
  t.field({
    type: EventConnection,
    description: 'Events about this entity in the last `days` days, newest first.',
    args: { days: t.arg.int({ defaultValue: 7 }), ...pageArgs(t.arg) },
    resolve: (entity, args, ctx) => entityActivity(ctx.services.db, entity, args.days ?? 7, page(ctx, args)),
  }),
);

builder.subscriptionFields((t) => ({
  entityActivity: t.field({
    type: Event,
    description: 'Each committed event about the entity.',
    authScopes: { read: true, bound: true, viewer: true },
    args: { type: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => liveEvents(ctx, { entity: { type: args.type, id: String(args.id) } }, 'Subscription.entityActivity'),
    resolve: liveItem,
  }),
}));
