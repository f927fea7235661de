import { menuItemUsage, usage, USAGE_DIMENSIONS, type MenuItemUsage, type UsageRow, type UsageView } from '../../history/usage.js';
import { builder } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { EventFilterInput, page, toEventFilter } from './event.js';

const UsageDimension = builder.enumType('UsageDimension', {
  description: 'GROUP counts an event once for each group of its user (child groups roll up); ENTITY_TYPE once per type of entity it names; DAY and HOUR are UTC.',
  values: USAGE_DIMENSIONS,
});

const UsageRowRef = builder.objectRef<UsageRow>('UsageRow').implement({
  fields: (t) => ({ key: t.exposeString('key'), count: t.exposeInt('count'), distinctUsers: t.exposeInt('distinctUsers') }),
});
const UsageRowConnection = connectionOf('UsageRow', UsageRowRef);

const UsageReport = builder.objectRef<UsageView>('UsageReport').implement({
  fields: (t) => ({
    groupBy: t.field({ type: UsageDimension, resolve: (u) => u.groupBy }),
    total: t.exposeInt('total', { description: 'Matching events.' }),
    distinctUsers: t.exposeInt('distinctUsers'),
    rows: t.field({ type: UsageRowConnection, description: 'Most used first; DAY and HOUR oldest first.', resolve: (u) => u.rows }),
  }),
});

const MenuItemUsageRef = builder.objectRef<MenuItemUsage>('MenuItemUsage').implement({
  fields: (t) => ({
    item: t.exposeString('item'),
    count: t.exposeInt('count'),
    distinctUsers: t.exposeInt('distinctUsers'),
    lastUsed: t.expose('lastUsed', { type: 'DateTime', nullable: true }),
  }),
});
const MenuItemUsageConnection = connectionOf('MenuItemUsage', MenuItemUsageRef);

builder.queryFields((t) => ({
  usage: t.field({
    type: UsageReport,
    description: 'Counts and distinct users of the matching events, grouped by one dimension.',
    authScopes: { read: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      groupBy: t.arg({ type: UsageDimension, defaultValue: 'TYPE' }),
      ...pageArgs(t.arg),
    },
    resolve: (_root, args, ctx) => usage(ctx.services.db, toEventFilter(args.filter), args.groupBy ?? 'TYPE', page(ctx, args)),
  }),
  menuItemUsage: t.field({
    type: MenuItemUsageConnection,
    description: 'Main menu items from least to most used (`main-menu-item-click`), so unused items come first.',
    authScopes: { read: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      items: t.arg.stringList({ required: false, description: 'The menu as the UI defines it: items never clicked are listed with 0.' }),
      ...pageArgs(t.arg),
    },
    resolve: (_root, args, ctx) => menuItemUsage(ctx.services.db, toEventFilter(args.filter), args.items ?? [], page(ctx, args)),
  }),
}));
