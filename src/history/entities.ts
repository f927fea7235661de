import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { AuditEvent, EntityView } from '../audit/model.js';
import { findEvents, sinceDaysAgo, type Connection, type PageArgs } from './events.js';

export async function findEntity(db: Db, type: string, externalId: string): Promise<EntityView | null> {
  const [row] = await queryRows<{ id: string; type: string; external_id: string; name: string | null }>(
    db,
    sql`select id, type, external_id, name from entities where type = ${type} and external_id = ${externalId}`,
    { prepared: true },
  );
  return row ? { id: row.id, type: row.type, externalId: row.external_id, name: row.name } : null;
}

/** The entity's events in the last `days` days (1 to 3660), newest first. */
export function entityActivity(db: Db, entity: EntityView, days: number, page: PageArgs): Promise<Connection<AuditEvent>> {
  return findEvents(db, { entity: { type: entity.type, id: entity.externalId }, since: sinceDaysAgo(days) }, page);
}

export interface CountBy {
  key: string;
  count: number;
}

export interface Usage {
  since: Date;
  total: number;
  distinctUsers: number;
  byType: CountBy[];
  byUser: CountBy[];
  /** One row per UTC day that has events, oldest first; `key` is the date (YYYY-MM-DD). */
  byDay: CountBy[];
}

/** An overview of the events on an entity in the last `days` days (1 to 3660): counts by type, by user and by day. */
export async function entityUsage(db: Db, entityId: string, days: number): Promise<Usage> {
  const since = sinceDaysAgo(days);
  // Counted by ids first, names joined to the few counted rows after.
  const rows = await queryRows<{ dimension: string; key: string | null; count: number; users: number }>(
    db,
    sql`with ev as (
          select e.event_type_id, e.user_id, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day from events e
          where (e.id, e.occurred_at) in (
            select v.event_id, v.occurred_at from event_parameter_values v
            where v.entity_id = ${entityId} and v.occurred_at >= ${since.toISOString()}::timestamptz)
            and e.occurred_at >= ${since.toISOString()}::timestamptz),
        counted as (
          select case when grouping(event_type_id) = 0 then 'type' when grouping(user_id) = 0 then 'user'
                      when grouping(day) = 0 then 'day' else 'total' end as dimension,
                 event_type_id, user_id, day, count(*)::int as count, count(distinct user_id)::int as users
          from ev group by grouping sets ((event_type_id), (user_id), (day), ()))
        select counted.dimension, coalesce(t.name, u.login, counted.day) as key, counted.count, counted.users
        from counted left join event_types t on t.id = counted.event_type_id left join users u on u.id = counted.user_id`,
    { prepared: true },
  );
  const usage: Usage = { since, total: 0, distinctUsers: 0, byType: [], byUser: [], byDay: [] };
  for (const row of rows) {
    const entry = { key: row.key ?? '(anonymous)', count: Number(row.count) };
    if (row.dimension === 'total') {
      usage.total = Number(row.count);
      usage.distinctUsers = Number(row.users);
    } else if (row.dimension === 'type') usage.byType.push(entry);
    else if (row.dimension === 'user') usage.byUser.push(entry);
    else usage.byDay.push(entry);
  }
  const byCount = (a: CountBy, b: CountBy) => b.count - a.count || a.key.localeCompare(b.key);
  usage.byType.sort(byCount);
  usage.byUser.sort(byCount);
  usage.byDay.sort((a, b) => a.key.localeCompare(b.key));
  return usage;
}
