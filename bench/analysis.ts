/**
 * Analysis queries at 1,000,000 events: p50 and p99 of entity activity, errorGroups and usage over
 * GraphQL (real HTTP), next to the very same SQL statements sent straight through postgres.js, and
 * the EXPLAIN of each statement.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:analysis
 *
 * Creates (and drops) its own database; EVENTS and ITERATIONS override the defaults.
 */
import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { openDatabase, runMigrations, type Db } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import { loadEnv } from '../src/env.js';
import { findEntity } from '../src/history/entities.js';
import { findErrorGroups } from '../src/history/error-groups.js';
import { findEvents } from '../src/history/events.js';
import { usage } from '../src/history/usage.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { bootstrapCredentials } from '../src/auth/bootstrap.js';

const BENCH_KEY = 'bench-admin-key-0123456789abcdef';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('Set DATABASE_URL to a PostgreSQL server (the bench creates and drops its own database).');
  process.exit(1);
}
const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const ITERATIONS = Number(process.env.ITERATIONS ?? 30);
const TIME_BUDGET_MS = 15_000;

const TYPES = [
  'query-start', 'query-edited', 'query-created', 'script-start', 'project-opened', 'viewer-rendered',
  'main-menu-item-click', 'dialog-ok', 'table-produced', 'comment-posted', 'entity-shared', 'action-start',
  'predictive-model-start', 'notebook-edited', 'job-start', 'file-edited', 'login', 'logout', 'log', 'error',
];

const name = `audit_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

try {
  const env = loadEnv({ LOG_LEVEL: 'silent', DATABASE_URL: url.toString(), AUDIT_BOOTSTRAP_ADMIN_KEY: BENCH_KEY, WRITE_RATE_LIMIT: '0' });
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused', poolSize: 5 });
  await runMigrations(database);
  const services = await createServices(database, env, createLogger('silent'));
  await bootstrapCredentials(services.db, { host: '127.0.0.1', adminKey: BENCH_KEY, jwtConfigured: false });
  const client = postgres(url.toString(), { max: 2, onnotice: () => {} });
  // Drizzle passes json parameters through as text; the replay client must do the same.
  drizzle({ client });

  // ---- data, generated in SQL ----
  let start = process.hrtime.bigint();
  await client.begin(async (tx) => {
    await tx.unsafe(`insert into users (login) select 'user-' || g from generate_series(1, 1000) g`);
    await tx.unsafe(`insert into entities (type, external_id, name) select 'query', 'q-' || g, 'Query ' || g from generate_series(1, 10000) g`);
    await tx.unsafe(`create temp table bench_types on commit drop as
      select (row_number() over (order by name) - 1)::int as n, id, source from event_types where name = any($1::text[])`, [TYPES]);
    await tx.unsafe(`create temp table bench_users on commit drop as select (row_number() over (order by login) - 1)::int as n, id from users`);
    await tx.unsafe(`create temp table bench_entities on commit drop as select (row_number() over (order by external_id) - 1)::int as n, id, external_id from entities`);
    await tx.unsafe(`insert into event_parameters (event_type_id, name, type) select id, 'query', 'entity_id' from bench_types on conflict do nothing`);
    // 2% errors in 40 fingerprints; durations on function types; 90 days back from now.
    await tx.unsafe(`
      insert into events (id, occurred_at, event_type_id, user_id, source, description, duration_ms, is_error, error_message, error_fingerprint)
      select nextval('events_id_seq'), now() - (g::float8 / $1) * interval '90 days', t.id, u.id, 'UI', 'event ' || g,
             case when t.source = 'function' then (g % 997)::float8 end,
             g % 50 = 7, case when g % 50 = 7 then 'failure ' || (g % 40) end, case when g % 50 = 7 then 'fp-' || (g % 40) end
      from generate_series(1, $1::int) g
      join bench_types t on t.n = (g::bigint * 7919) % ${TYPES.length}
      join bench_users u on u.n = (g::bigint * 104729) % 1000`, [EVENTS]);
    await tx.unsafe(`
      insert into event_parameter_values (event_id, occurred_at, parameter_id, position, value, entity_id)
      select e.id, e.occurred_at, p.id, 0, en.external_id, en.id
      from events e join event_parameters p on p.event_type_id = e.event_type_id and p.name = 'query'
      join bench_entities en on en.n = e.id % 10000`);
  });
  await client.unsafe('analyze');
  const [counts] = await client.unsafe<Array<{ events: number; values: number }>>(`select (select count(*) from events)::int as events, (select count(*) from event_parameter_values)::int as values`);
  console.log(`generated ${counts!.events} events and ${counts!.values} parameter values in ${(ms(start) / 1000).toFixed(1)} s`);

  const app = buildApp(services);
  const { url: endpoint } = await app.start(0, '127.0.0.1');

  // The same domain calls over a postgres.js client that records each statement it sends.
  const captured: Array<{ query: string; params: unknown[] }> = [];
  const recorder = postgres(url.toString(), { max: 1, onnotice: () => {}, debug: (_c, query, params) => captured.push({ query, params: params as unknown[] }) });
  const recordingDb = drizzle({ client: recorder, schema }) as unknown as Db;
  const capture = async (run: () => Promise<unknown>) => {
    captured.length = 0;
    await run();
    // Leave out postgres.js's own one-time type lookup.
    return captured.filter((s) => !s.query.includes('pg_catalog.pg_type'));
  };

  const entityId = 'q-42';
  const scenarios = [
    {
      name: 'entity activity (q-42, 50 newest of ~100)',
      graphql: `{ entity(type: "query", id: "${entityId}") { activity(days: 3660, first: 50) { nodes { id type user occurredAt params } } } }`,
      statements: await capture(async () => {
        const entity = await findEntity(recordingDb, 'query', entityId);
        await findEvents(recordingDb, { entity: { type: 'query', id: entityId }, since: new Date(Date.now() - 3660 * 86_400_000) }, { first: 50 });
        return entity;
      }),
    },
    {
      name: 'errorGroups (first 20 by count, all time)',
      graphql: `{ errorGroups(first: 20) { nodes { fingerprint status message count distinctUsers firstSeen lastSeen } } }`,
      statements: await capture(() => findErrorGroups(recordingDb, { filter: {}, sort: 'COUNT', page: { first: 20 } })),
    },
    {
      name: 'errorGroups (last 7 days)',
      graphql: `query($since: DateTime) { errorGroups(first: 20, filter: { since: $since }) { nodes { fingerprint count distinctUsers lastSeen } } }`,
      variables: { since: new Date(Date.now() - 7 * 86_400_000).toISOString() },
      statements: await capture(() => findErrorGroups(recordingDb, { filter: { since: new Date(Date.now() - 7 * 86_400_000) }, sort: 'COUNT', page: { first: 20 } })),
    },
    {
      name: `usage by type (all ${EVENTS} events)`,
      graphql: `{ usage(groupBy: TYPE) { total distinctUsers rows { nodes { key count distinctUsers } } } }`,
      statements: await capture(() => usage(recordingDb, {}, 'TYPE', { first: 50 })),
    },
    {
      name: 'usage by day (last 30 days)',
      graphql: `query($since: DateTime) { usage(groupBy: DAY, filter: { since: $since }) { total rows { nodes { key count } } } }`,
      variables: { since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
      statements: await capture(() => usage(recordingDb, { since: new Date(Date.now() - 30 * 86_400_000) }, 'DAY', { first: 50 })),
    },
  ];

  const time = async (run: () => Promise<void>) => {
    for (let i = 0; i < 2; i++) await run();
    const samples: number[] = [];
    const begin = Date.now();
    while (samples.length < ITERATIONS && (samples.length < 5 || Date.now() - begin < TIME_BUDGET_MS)) {
      const t = process.hrtime.bigint();
      await run();
      samples.push(ms(t));
    }
    return samples.sort((a, b) => a - b);
  };

  const results: string[] = [];
  for (const scenario of scenarios) {
    const gql = await time(async () => {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', Authorization: `Bearer ${BENCH_KEY}` },
        body: JSON.stringify({ query: scenario.graphql, variables: scenario.variables }),
      });
      const body = (await response.json()) as { errors?: unknown };
      if (body.errors) throw new Error(`${scenario.name}: ${JSON.stringify(body.errors)}`);
    });
    const raw = await time(async () => {
      for (const s of scenario.statements) await client.unsafe(s.query, s.params as never[]);
    });
    const row = `| ${scenario.name} | ${scenario.statements.length} | ${percentile(gql, 0.5).toFixed(1)} | ${percentile(gql, 0.99).toFixed(1)} | ${percentile(raw, 0.5).toFixed(1)} | ${percentile(raw, 0.99).toFixed(1)} | ${(percentile(gql, 0.5) / percentile(raw, 0.5)).toFixed(2)} | ${gql.length} |`;
    results.push(row);
    console.log(row);
    for (const s of scenario.statements) {
      const plan = await client.unsafe(`explain ${s.query}`, s.params as never[]);
      const lines = plan.map((r) => String(r['QUERY PLAN']));
      const scans = lines.filter((l) => /Scan|Aggregate|Sort/.test(l)).map((l) => l.trim().replace(/\s+\(cost.*$/, ''));
      const seqOnEvents = lines.some((l) => /Seq Scan on events\b/.test(l));
      console.log(`    EXPLAIN ${s.query.replace(/\s+/g, ' ').slice(0, 70)}…`);
      console.log(`      ${[...new Set(scans)].slice(0, 8).join(' | ')}${seqOnEvents ? '   [seq scan on events]' : ''}`);
    }
  }
  console.log('\n| query | statements | GraphQL p50 ms | GraphQL p99 ms | SQL p50 ms | SQL p99 ms | p50 ratio | samples |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of results) console.log(row);

  await recorder.end();
  await client.end();
  await app.stop();
  await database.close();
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
