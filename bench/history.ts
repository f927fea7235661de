/**
 * History queries on a large generated log: entity activity (first page of 50), events with
 * filters, and entity usage, end to end through GraphQL at a steady request rate, next to the same
 * SQL sent straight through postgres.js in the same run.
 *   npm run bench:history                 (BENCH_EVENTS=1000000 by default; 10000000 for the full size)
 */
import postgres from 'postgres';
import { fmt, freshBenchDatabase, gql, machine, percentile, startServer } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RATE = Number(process.env.BENCH_RATE ?? 100); // requests per second, open loop
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ENTITIES = Math.max(1000, Math.floor(EVENTS / 100));
const USERS = 1000;

async function generate(sql: postgres.Sql): Promise<void> {
  const started = performance.now();
  await sql`insert into users (login) select 'user' || g from generate_series(1, ${USERS}) g`;
  await sql`insert into entities (type, external_id, name) select 'dataset', 'ds-' || g, 'Dataset ' || g from generate_series(1, ${ENTITIES}) g`;
  await sql`insert into event_parameters (event_type_id, name, type)
            select id, p.name, p.type from event_types, (values ('dataset', 'entity_id'), ('rows', 'value')) as p(name, type)
            where event_types.builtin on conflict do nothing`;
  // A year of history: partitions for every month of it.
  await sql`select audit_ensure_month_partition((now() - make_interval(months => m))::date) from generate_series(0, 12) m`;
  const chunk = 1_000_000;
  for (let from = 1; from <= EVENTS; from += chunk) {
    const to = Math.min(EVENTS, from + chunk - 1);
    await sql.begin(async (tx) => {
      await tx`
        with types as (select array_agg(id order by id) as ids from event_types where builtin and not is_error),
             people as (select array_agg(id order by login) as ids from users),
             things as (select array_agg(id order by external_id) as ids from entities),
             params as (select array_agg(id order by event_type_id) filter (where name = 'dataset') as dataset,
                               array_agg(id order by event_type_id) filter (where name = 'rows') as rows
                        from event_parameters
                        where event_type_id in (select id from event_types where builtin and not is_error)),
             generated as (
               select g as id,
                      now() - make_interval(secs => (${EVENTS} - g)::float8 * 365 * 86400 / ${EVENTS}) as at,
                      1 + (g % 20) as t, 1 + (g * 7 % ${USERS}) as u, 1 + (g * 7919 % ${ENTITIES}) as e
               from generate_series(${from}::bigint, ${to}::bigint) g),
             ins as (
               insert into events (id, occurred_at, recorded_at, event_type_id, user_id, description, source, duration_ms, is_error)
               select g.id, g.at, g.at, types.ids[g.t], people.ids[g.u], 'Generated event ' || g.id, 'UI', g.id % 1000, false
               from generated g, types, people)
        insert into event_parameter_values (event_id, occurred_at, parameter_id, position, value, entity_id)
        select g.id, g.at, params.dataset[g.t], 0, 'ds', things.ids[g.e] from generated g, params, things
        union all
        select g.id, g.at, params.rows[g.t], 0, (g.id % 5000)::text, null from generated g, params`;
    });
    process.stdout.write(`\rgenerated ${fmt(to)} of ${fmt(EVENTS)} events`);
  }
  await sql`select setval('events_id_seq', ${EVENTS})`;
  await sql`analyze`;
  console.log(` in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

interface Case {
  name: string;
  graphql: (i: number) => [string, Record<string, unknown>];
  sql: (db: postgres.Sql, i: number) => Promise<unknown>;
}

const since = () => new Date(Date.now() - 365 * 86_400_000);
const entityOf = (i: number) => `ds-${1 + ((i * 104_729) % ENTITIES)}`;

/** The statements the server runs for a page of events (history/events.ts), sent directly. */
async function eventsPage(db: postgres.Sql, where: postgres.PendingQuery<postgres.Row[]>): Promise<unknown> {
  const rows = await db`
    select e.id::text as id, e.tx_id::text, t.name, t.category, e.is_error, e.occurred_at, e.recorded_at, e.user_id, u.login,
           e.session_id, e.source, e.description, e.duration_ms, e.error_message, e.error_stack_trace, e.error_fingerprint
    from events e join event_types t on t.id = e.event_type_id left join users u on u.id = e.user_id
    where ${where} order by e.occurred_at desc, e.id desc limit 51`;
  const ids = rows.map((r) => r.id as string);
  return db`
    select v.event_id::text, p.name, v.value, en.id, en.type, en.external_id, en.name
    from event_parameter_values v join event_parameters p on p.id = v.parameter_id left join entities en on en.id = v.entity_id
    where v.event_id in (select value::bigint from json_array_elements_text(${JSON.stringify(ids)}::text::json))
    order by v.event_id, p.name, v.position`;
}

const cases: Case[] = [
  {
    name: 'entity activity, first page of 50',
    graphql: (i) => [
      `query($id: ID!) { entity(type: "dataset", id: $id) { activity(days: 365, first: 50) { nodes { id type user message occurredAt params } } } }`,
      { id: entityOf(i) },
    ],
    sql: async (db, i) => {
      const [entity] = await db`select id, type, external_id, name from entities where type = 'dataset' and external_id = ${entityOf(i)}`;
      return eventsPage(
        db,
        db`(e.id, e.occurred_at) in (select v.event_id, v.occurred_at from event_parameter_values v
             where v.entity_id = (select id from entities where type = 'dataset' and external_id = ${entity!.external_id}) and v.occurred_at >= ${since()})
           and e.occurred_at >= ${since()}`,
      );
    },
  },
  {
    name: 'events by type and user, first page of 50',
    graphql: (i) => [
      `query($f: EventFilter) { events(filter: $f, first: 50) { nodes { id type user message occurredAt params } } }`,
      { f: { types: ['query-start', 'script-start'], user: `user${1 + (i % USERS)}` } },
    ],
    sql: (db, i) =>
      eventsPage(
        db,
        db`e.event_type_id in (select id from event_types where name in ('query-start', 'script-start'))
           and e.user_id in (select id from users where login = ${`user${1 + (i % USERS)}`})`,
      ),
  },
  {
    name: 'entity usage over 30 days',
    graphql: (i) => [`query($id: ID!) { entity(type: "dataset", id: $id) { usage(days: 30) { total distinctUsers byType { key count } byDay { key count } } } }`, { id: entityOf(i) }],
    sql: async (db, i) => {
      const [entity] = await db`select id from entities where type = 'dataset' and external_id = ${entityOf(i)}`;
      const from = new Date(Date.now() - 30 * 86_400_000);
      return db`
        with ev as (select e.event_type_id, e.user_id, e.occurred_at from events e
          where (e.id, e.occurred_at) in (select v.event_id, v.occurred_at from event_parameter_values v where v.entity_id = ${entity!.id} and v.occurred_at >= ${from}))
        select coalesce(t.name, u.login, day) as key, count(*)::int, count(distinct ev.user_id)::int
        from ev join event_types t on t.id = ev.event_type_id left join users u on u.id = ev.user_id
        cross join lateral (select to_char(ev.occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day) d
        group by grouping sets ((t.name), (u.login), (day), ())`;
    },
  },
];

/** Sends `run` at a steady rate for SECONDS and returns the sorted latencies in ms. */
async function steady(run: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const total = RATE * SECONDS;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    inFlight.push(run(i).then(() => void latencies.push(performance.now() - t0)));
  }
  await Promise.all(inFlight);
  return latencies.sort((a, b) => a - b);
}

const databaseUrl = await freshBenchDatabase('audit_bench_history');
const server = await startServer(databaseUrl);
const db = postgres(databaseUrl, { max: 10, onnotice: () => {} });
try {
  await generate(db);
  console.log(`machine: ${machine()}; ${fmt(EVENTS)} events, ${fmt(ENTITIES)} entities, ${fmt(USERS)} users; ${RATE} requests/s for ${SECONDS} s each\n`);
  console.log('| query | GraphQL p50 | p99 | SQL p50 | p99 | ratio p50 | ratio p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    // Warm both paths first.
    for (let i = 0; i < 50; i++) {
      await gql(server.url, ...c.graphql(i));
      await c.sql(db, i);
    }
    const viaGraphql = await steady((i) => gql(server.url, ...c.graphql(i)));
    const viaSql = await steady((i) => c.sql(db, i));
    const [g50, g99, s50, s99] = [percentile(viaGraphql, 50), percentile(viaGraphql, 99), percentile(viaSql, 50), percentile(viaSql, 99)];
    console.log(`| ${c.name} | ${fmt(g50, 2)} ms | ${fmt(g99, 2)} ms | ${fmt(s50, 2)} ms | ${fmt(s99, 2)} ms | ${fmt(g50 / s50, 2)} | ${fmt(g99 / s99, 2)} |`);
  }
  console.log('\ngoal: entity activity p50 < 2 ms and p99 < 10 ms');
} finally {
  await db.end();
  await server.stop();
}
