import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { num, numOrNull, utcDay, whereOf } from './analysis-common.js';
import type { EventFilter } from './events.js';
import { functionName } from './function-usage.js';

export interface DurationStats {
  count: number;
  avgMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface PerformanceRow extends DurationStats {
  key: string;
  /** One row per UTC day (YYYY-MM-DD), oldest first. */
  byDay: Array<DurationStats & { day: string }>;
}

export type PerformanceGroupBy = 'TYPE' | 'FUNCTION';

/**
 * Durations of the events that have one, per event type (or function name): count, mean,
 * percentile_cont 0.5 / 0.95 / 0.99 and max, overall and per UTC day, in one grouping-sets query.
 */
export async function performance(db: Db, filter: EventFilter, groupBy: PerformanceGroupBy): Promise<PerformanceRow[]> {
  const key = groupBy === 'FUNCTION' ? sql`coalesce(${functionName}, t.name)` : sql`t.name`;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`with d as (
          select ${key} as key, ${utcDay(sql`events.occurred_at`)} as day, events.duration_ms as ms
          from events join event_types t on t.id = events.event_type_id
          where ${whereOf(filter, sql`events.duration_ms is not null`)})
        select key, day, count(*)::int as count, avg(ms) as avg, max(ms) as max,
               percentile_cont(array[0.5, 0.95, 0.99]) within group (order by ms) as p
        from d group by grouping sets ((key), (key, day))
        order by key, day nulls first`,
  );
  const byKey = new Map<string, PerformanceRow>();
  for (const row of rows) {
    const p = (typeof row.p === 'string' ? JSON.parse(`[${row.p.slice(1, -1)}]`) : row.p) as number[];
    const stats: DurationStats = {
      count: num(row.count),
      avgMs: numOrNull(row.avg),
      p50Ms: numOrNull(p[0]),
      p95Ms: numOrNull(p[1]),
      p99Ms: numOrNull(p[2]),
      maxMs: numOrNull(row.max),
    };
    const key = String(row.key);
    if (row.day === null) byKey.set(key, { key, ...stats, byDay: [] });
    else byKey.get(key)!.byDay.push({ day: String(row.day), ...stats });
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
