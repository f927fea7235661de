import { and, eq, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { entities } from '../db/schema.js';
import type { EntityView } from '../audit/model.js';

export async function findEntity(db: Db, type: string, externalId: string): Promise<EntityView | null> {
  const [row] = await db
    .select({ id: entities.id, type: entities.type, externalId: entities.externalId, name: entities.name })
    .from(entities)
    .where(and(eq(entities.type, type), eq(entities.externalId, externalId)))
    .limit(1);
  return row ?? null;
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

/** An overview of the events on an entity since a moment: counts by type, by user and by day. */
export async function entityUsage(db: Db, entityId: string, since: Date): Promise<Usage> {
  const rows = await queryRows<{ dimension: string; key: string | null; count: number; users: number }>(
    db,
    sql`with ev as (
          select e.event_type_id, e.user_id, e.occurred_at from events e
          where (e.id, e.occurred_at) in (
            select v.event_id, v.occurred_at from event_parameter_values v
            where v.entity_id = ${entityId} and v.occurred_at >= ${since.toISOString()}::timestamptz))
        select case when grouping(t.name) = 0 then 'type'
                    when grouping(u.login) = 0 then 'user'
                    when grouping(day) = 0 then 'day' else 'total' end as dimension,
               coalesce(t.name, u.login, day) as key,
               count(*)::int as count, count(distinct ev.user_id)::int as users
        from ev
        join event_types t on t.id = ev.event_type_id
        left join users u on u.id = ev.user_id
        cross join lateral (select to_char(ev.occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day) d
        group by grouping sets ((t.name), (u.login), (day), ())`,
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
