import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { decodeOffset, num, offsetPage, utcDay, whereOf } from './analysis-common.js';
import type { Connection, EventFilter, PageArgs } from './events.js';

export const USAGE_DIMENSIONS = ['TYPE', 'CATEGORY', 'USER', 'GROUP', 'ENTITY_TYPE', 'DAY', 'HOUR'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export interface UsageRow {
  key: string;
  count: number;
  distinctUsers: number;
}

export interface UsageView {
  groupBy: UsageDimension;
  total: number;
  distinctUsers: number;
  rows: Connection<UsageRow>;
}

/** Users and every group they are in (through their personal group and parent groups; cycles stop at `union`). */
const membership = sql`with recursive membership(user_id, group_id) as (
    select u.id, u.group_id from users u where u.group_id is not null
    union select m.user_id, r.parent_id from membership m join groups_relations r on r.child_id = m.group_id)`;

/** `key` per event for one dimension; GROUP and ENTITY_TYPE give an event several keys. */
function keyed(dimension: UsageDimension, where: SQL): SQL {
  switch (dimension) {
    case 'TYPE':
    case 'CATEGORY': {
      const column = dimension === 'TYPE' ? sql`t.name` : sql`t.category`;
      return sql`select ${column} as key, events.user_id from events join event_types t on t.id = events.event_type_id where ${where}`;
    }
    case 'USER':
      return sql`select coalesce(u.login, '(anonymous)') as key, events.user_id from events left join users u on u.id = events.user_id where ${where}`;
    case 'GROUP':
      return sql`select g.name as key, events.user_id from events join membership m on m.user_id = events.user_id
                 join groups g on g.id = m.group_id and not g.personal where ${where}`;
    case 'ENTITY_TYPE':
      return sql`select distinct on (events.id, en.type) en.type as key, events.user_id from events
                 join event_parameter_values v on v.event_id = events.id and v.occurred_at = events.occurred_at and v.entity_id is not null
                 join entities en on en.id = v.entity_id where ${where}`;
    case 'DAY':
      return sql`select ${utcDay(sql`events.occurred_at`)} as key, events.user_id from events where ${where}`;
    case 'HOUR':
      return sql`select to_char(events.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24') as key, events.user_id from events where ${where}`;
  }
}

/**
 * Counts and distinct users of the matching events per key of one dimension: most used first
 * (DAY and HOUR: oldest first), with the totals over all matching events.
 */
export async function usage(db: Db, filter: EventFilter, groupBy: UsageDimension, page: PageArgs): Promise<UsageView> {
  const offset = decodeOffset(page.after);
  const where = whereOf(filter);
  const byTime = groupBy === 'DAY' || groupBy === 'HOUR';
  // Two-level aggregation: hash (key, user) first — small — then count users per key from it, which
  // avoids sorting every event for count(distinct). Where an event has exactly one key the totals
  // come from the same pass; GROUP and ENTITY_TYPE count an event under several keys, so their
  // totals are read from the events themselves.
  const oneKeyPerEvent = groupBy !== 'GROUP' && groupBy !== 'ENTITY_TYPE';
  const totals = oneKeyPerEvent
    ? sql`select coalesce(sum(c), 0)::int as total, count(distinct user_id)::int as total_users from ku`
    : sql`select coalesce(sum(c), 0)::int as total, count(user_id)::int as total_users
          from (select events.user_id, count(*) as c from events where ${where} group by events.user_id) x`;
  const rows = await queryRows<{ key: string | null; count: unknown; users: unknown; total: unknown; total_users: unknown }>(
    db,
    sql`${groupBy === 'GROUP' ? membership : sql`with`} ${groupBy === 'GROUP' ? sql`,` : sql``} k as (${keyed(groupBy, where)}),
        ku as (select key, user_id, count(*) as c from k group by key, user_id),
        totals as (${totals})
        select r.key, r.count, r.users, totals.total, totals.total_users from totals left join lateral (
          select key, sum(c)::int as count, count(user_id)::int as users from ku group by key
          order by ${byTime ? sql`key` : sql`2 desc, key`} limit ${page.first + 1} offset ${offset}) r on true
        order by ${byTime ? sql`r.key` : sql`r.count desc, r.key`}`,
  );
  const found = rows.filter((row) => row.key !== null);
  return {
    groupBy,
    total: num(rows[0]?.total),
    distinctUsers: num(rows[0]?.total_users),
    rows: offsetPage(
      found.map((row) => ({ key: row.key!, count: num(row.count), distinctUsers: num(row.users) })),
      page.first,
      offset,
    ),
  };
}

export interface MenuItemUsage {
  item: string;
  count: number;
  distinctUsers: number;
  lastUsed: Date | null;
}

/** The item of a main-menu-item-click: its `item`, `menuItem` or `path` parameter, else its message. */
const menuItem = sql`coalesce(
  (select v.value from event_parameter_values v join event_parameters p on p.id = v.parameter_id
   where v.event_id = events.id and v.occurred_at = events.occurred_at and p.name in ('item', 'menuItem', 'path')
   order by p.name limit 1), events.description)`;

/**
 * Main menu items from least to most used under the filter. The items are those ever clicked plus
 * `known` (the menu as the UI defines it), so items nobody used in the period come first with 0.
 */
export async function menuItemUsage(db: Db, filter: EventFilter, known: string[], page: PageArgs): Promise<Connection<MenuItemUsage>> {
  const offset = decodeOffset(page.after);
  const clicks = sql`events.event_type_id = (select id from event_types where name = 'main-menu-item-click')`;
  const rows = await queryRows<{ item: string; count: unknown; users: unknown; last_used: unknown }>(
    db,
    sql`with used as (
          select ${menuItem} as item, events.user_id, events.occurred_at from events where ${whereOf(filter, clicks)}),
        items as (
          select distinct ${menuItem} as item from events where ${clicks}
          union select value from json_array_elements_text(${JSON.stringify(known)}::json))
        select items.item, count(used.item)::int as count, count(distinct used.user_id)::int as users, max(used.occurred_at) as last_used
        from items left join used on used.item = items.item where items.item is not null
        group by items.item order by 2, 1 limit ${page.first + 1} offset ${offset}`,
  );
  return offsetPage(
    rows.map((row) => ({
      item: row.item,
      count: num(row.count),
      distinctUsers: num(row.users),
      lastUsed: row.last_used === null ? null : row.last_used instanceof Date ? row.last_used : new Date(String(row.last_used)),
    })),
    page.first,
    offset,
  );
}
