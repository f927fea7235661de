/**
 * The generated log bench/history.ts measures: `events` events over the last 365 days (so 13
 * monthly partitions hold them), each with 2–5 parameter values of which 1–2 are entities, made in
 * SQL with one INSERT … SELECT per table. The indexes of the two big tables are dropped for the
 * load and built afterwards (much faster than maintaining them row by row), then everything is
 * ANALYZEd. Ids of users and entities are md5-derived UUIDs, so the parameter rows can name them
 * without a join.
 */
import type postgres from 'postgres';

export const USERS = 1000;
/** The long tail: each dataset is named by ~1 event in 100,000 (about 100 a year at 10M events). */
export const datasetsFor = (events: number) => Math.max(1000, Math.floor(events / 100));
/** Popular entities: each query is named by ~1 event in 1,300 (about 7,500 a year at 10M events). */
export const QUERIES = 1000;

/** 20 built-in types of ordinary activity; one event in 200 is an `error` (40 fingerprints). */
export const TYPES = [
  'query-start', 'query-edited', 'query-created', 'script-start', 'project-opened', 'viewer-rendered',
  'main-menu-item-click', 'dialog-ok', 'table-produced', 'comment-posted', 'entity-shared', 'action-start',
  'predictive-model-start', 'notebook-edited', 'job-start', 'connection-edited', 'notebook-start', 'script-edited',
  'log', 'package-tested',
];

/** Parameter slots in order; an event has the first 2–5 of them. */
const SLOTS = [
  ['dataset', 'entity_id'],
  ['rows', 'value'],
  ['query', 'entity_id'],
  ['status', 'value'],
  ['elapsedMs', 'value'],
] as const;

const DAY_MS = 86_400_000;

export interface Generated {
  events: number;
  parameterValues: number;
  /** The newest event's time; events reach back 365 days from it. */
  end: Date;
  seconds: { events: number; values: number; indexes: number; analyze: number };
}

/** Fills a freshly migrated database (see the module comment). */
export async function generateLog(sql: postgres.Sql, events: number, log: (line: string) => void): Promise<Generated> {
  const datasets = datasetsFor(events);
  const end = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const seconds = { events: 0, values: 0, indexes: 0, analyze: 0 };
  const timed = async (key: keyof typeof seconds, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    seconds[key] = (performance.now() - started) / 1000;
  };
  await sql`insert into users (id, login) select md5('user' || g)::uuid, 'user' || g from generate_series(1, ${USERS}) g`;
  await sql`insert into entities (id, type, external_id, name)
            select md5('dataset/ds-' || g)::uuid, 'dataset', 'ds-' || g, 'Dataset ' || g from generate_series(1, ${datasets}) g
            union all
            select md5('query/q-' || g)::uuid, 'query', 'q-' || g, 'Query ' || g from generate_series(1, ${QUERIES}) g`;
  const types = [...TYPES, 'error'];
  await sql`insert into event_parameters (event_type_id, name, type)
            select t.id, s.name, s.type from event_types t, json_to_recordset(${JSON.stringify(SLOTS.map(([name, type]) => ({ name, type })))}::text::json) s(name text, type text)
            where t.name = any(${types}) on conflict do nothing`;
  // The year's months (UTC) and the next two, as the server would have made them.
  await sql`select audit_ensure_month_partition((${end}::timestamptz - make_interval(months => m))::date) from generate_series(-2, 13) m`;

  const big = ['events', 'event_parameter_values'];
  const indexes = await sql<Array<{ table: string; name: string; constraint: string | null; def: string }>>`
    select i.indrelid::regclass::text as table, i.indexrelid::regclass::text as name, c.conname as constraint,
           coalesce('alter table ' || i.indrelid::regclass::text || ' add constraint ' || c.conname || ' ' || pg_get_constraintdef(c.oid),
                    replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')) as def
    from pg_index i left join pg_constraint c on c.conindid = i.indexrelid and c.contype = 'p'
    where i.indrelid = any(${big}::regclass[])`;
  for (const index of indexes) {
    await sql.unsafe(index.constraint ? `alter table ${index.table} drop constraint ${index.constraint}` : `drop index ${index.name}`);
  }

  // 1 to n, evenly and independently of the other picks of event g (PostgreSQL's own integer hash, salted).
  const pick = (salt: number, n: number) => sql`(1 + (hashint8(g + ${salt * 1_000_000_000_000}::bigint) & 2147483647) % ${n})`;
  // Per event g: its time (evenly over the year, oldest first) and type.
  const perEvent = sql`
    ${end.toISOString()}::timestamptz - make_interval(secs => (${events} - g)::float8 * ${(365 * DAY_MS) / 1000}::float8 / ${events}) as at,
    case when g % 200 = 17 then ${types.length} else ${pick(1, TYPES.length)} end as t`;
  await timed('events', () => sql`
    with types as (select array_agg(id order by array_position(${types}::text[], name)) as ids from event_types where name = any(${types}))
    insert into events (id, occurred_at, recorded_at, event_type_id, user_id, description, source, duration_ms, is_error, error_message, error_fingerprint)
    select g, x.at, x.at, types.ids[x.t], md5('user' || ${pick(2, USERS)})::uuid, 'Generated event ' || g,
           (array['UI', 'API', 'CLIENT', 'SERVER'])[1 + g % 4], (g % 997)::float8, x.t = ${types.length},
           case when x.t = ${types.length} then 'failure ' || (g % 40) end, case when x.t = ${types.length} then 'fp-' || (g % 40) end
    from types, generate_series(1, ${events}::bigint) g, lateral (select ${perEvent}) x`);
  log(`events: ${events.toLocaleString('en-US')} in ${seconds.events.toFixed(0)} s`);

  await timed('values', () => sql`
    with params as (
      select array_agg(p.id order by array_position(${types}::text[], t.name), array_position(${SLOTS.map(([name]) => name)}::text[], p.name)) as ids
      from event_parameters p join event_types t on t.id = p.event_type_id
      where t.name = any(${types}) and p.name = any(${SLOTS.map(([name]) => name)}))
    insert into event_parameter_values (event_id, occurred_at, parameter_id, position, value, entity_id)
    select g, x.at, params.ids[(x.t - 1) * ${SLOTS.length} + s], 0,
           case s when 1 then 'ds-' || d when 2 then (g % 5000)::text when 3 then 'q-' || q
                  when 4 then (array['ok', 'ok', 'ok', 'failed', 'cancelled'])[1 + g % 5] else (g % 9973)::text end,
           case s when 1 then md5('dataset/ds-' || d)::uuid when 3 then md5('query/q-' || q)::uuid end
    from params, generate_series(1, ${events}::bigint) g,
         lateral (select ${perEvent}, ${pick(3, datasets)} as d, ${pick(4, QUERIES)} as q) x,
         generate_series(1, 1 + ${pick(5, 4)}) s`);
  log(`parameter values in ${seconds.values.toFixed(0)} s`);

  await timed('indexes', async () => {
    await sql.begin(async (tx) => {
      await tx`set local maintenance_work_mem = '1GB'`;
      for (const index of indexes) await tx.unsafe(index.def);
    });
  });
  log(`${indexes.length} indexes built in ${seconds.indexes.toFixed(0)} s`);
  await sql`select setval('events_id_seq', ${events})`;
  await timed('analyze', () => sql`vacuum analyze`);
  const [counts] = await sql<Array<{ values: number }>>`select count(*)::int as values from event_parameter_values`;
  const generated = { events, parameterValues: counts!.values, end, seconds };
  // What a later run (BENCH_KEEP=1) reads to reuse this database instead of generating it again.
  await sql`create table bench_generated as select ${JSON.stringify(generated)}::text::json as info`;
  return generated;
}

/** The generation a kept database holds, or null when it holds none (or another size). */
export async function generatedLog(sql: postgres.Sql, events: number): Promise<Generated | null> {
  const [table] = await sql`select to_regclass('bench_generated') as name`;
  if (!table?.name) return null;
  const [row] = await sql<Array<{ info: Generated & { end: string } }>>`select info from bench_generated`;
  return row && row.info.events === events ? { ...row.info, end: new Date(row.info.end) } : null;
}
