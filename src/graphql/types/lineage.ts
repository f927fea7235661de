import { lineage, modifications, type Lineage, type LineageEdge, type LineageNode } from '../../history/lineage.js';
import { builder } from '../builder.js';
import { pageArgs } from './connection.js';
import { Entity } from './entity.js';
import { EventConnection, page } from './event.js';

const LineageNodeRef = builder.objectRef<LineageNode>('LineageNode').implement({
  fields: (t) => ({
    entity: t.field({ type: Entity, resolve: (n) => n.entity }),
    depth: t.exposeInt('depth', { description: 'Steps upstream of the entity asked about: 1 for a direct input.' }),
  }),
});

const LineageEdgeRef = builder.objectRef<LineageEdge>('LineageEdge').implement({
  description: 'A `table-produced` event: `to` was produced from `from`.',
  fields: (t) => ({
    from: t.field({ type: Entity, resolve: (e) => e.from }),
    to: t.field({ type: Entity, resolve: (e) => e.to }),
    depth: t.exposeInt('depth'),
    eventId: t.exposeID('eventId'),
    user: t.exposeString('user', { nullable: true }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
  }),
});

const LineageRef = builder.objectRef<Lineage>('Lineage').implement({
  description: 'Where a dataset came from: the upstream graph of `table-produced` events.',
  fields: (t) => ({
    nodes: t.field({ type: [LineageNodeRef], description: 'Upstream entities, nearest first.', resolve: (l) => l.nodes }),
    edges: t.field({ type: [LineageEdgeRef], description: 'Nearest first; an edge that closes a cycle is listed but not followed.', resolve: (l) => l.edges }),
    truncated: t.exposeBoolean('truncated', { description: 'The graph goes further up than the depth asked for.' }),
  }),
});

builder.objectFields(Entity, (t) => ({
  lineage: t.field({
    type: LineageRef,
    args: { depth: t.arg.int({ defaultValue: 5, description: '1 to 20 steps upstream.' }) },
    resolve: (entity, args, ctx) => lineage(ctx.services.db, entity, args.depth ?? 5),
  }),
  modifications: t.field({
    type: EventConnection,
    description: 'Every event that changed the entity (created, edited, deleted, renamed, moved, changesets, workbook edits, produced as output), newest first.',
    args: pageArgs(t.arg),
    resolve: (entity, args, ctx) => modifications(ctx.services.db, entity, page(ctx, args)),
  }),
}));
