/**
 * History queries on a large generated log (bench/history-data.ts): entity activity (first page of
 * 50), `events` with filters, and usage, end to end through GraphQL (real HTTP to the server in its
 * own process) at a steady request rate, open loop, each latency taken from the request's scheduled
 * send time; next to the very statements the server runs, recorded from the domain functions and
 * sent straight through postgres.js (prepared, as the server sends them) at the same rate, in the
 * same run. Then the EXPLAIN (ANALYZE, BUFFERS) of each statement.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:history
 *
 * BENCH_EVENTS (1,000,000; the issue's size is 10,000,000), BENCH_RATE (requests/s, 100),
 * BENCH_SECONDS (per case and path, 10), BENCH_LOG_LEVEL (the server's LOG_LEVEL, info),
 * BENCH_KEEP=1 keeps the database for the next run, which then reuses it instead of generating it
 * again (10,000,000 events take about 7 minutes and 8 GB).
 */
import http from 'node:http';
import { loadavg } from 'node:os';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { EventTypeRegistry } from '../src/audit/event-types.js';
import { openDatabase, runMigrations, type Db } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import { entityActivity, entityUsage, findEntity } from '../src/history/entities.js';
import { findEvents, type EventFilter } from '../src/history/events.js';
import { usage } from '../src/history/usage.js';
import { datasetsFor, generatedLog, generateLog, QUERIES, USERS, type Generated } from './history-data.js';
import { ADMIN_URL, BENCH_KEY, fmt, machine, percentile, startServer } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const KEEP = process.env.BENCH_KEEP === '1';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const DATASETS = datasetsFor(EVENTS);
/** Distinct inputs per case (entities, users, …), cycled through. */
const VARIANTS = 100;
const DAY = 86_400_000;

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** The database of this size: reused when kept by an earlier run, else generated now. */
async function prepareDatabase(): Promise<{ url: string; generated: Generated; reused: boolean }> {
  const name = `audit_bench_history_${EVENTS}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists && KEEP) {
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      const generated = await generatedLog(sql, EVENTS).finally(() => sql.end());
      if (generated) return { url: url.toString(), generated, reused: true };
    }
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused', poolSize: 2 });
  await runMigrations(database);
  await new EventTypeRegistry(database.db).seed();
  await database.close();
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const generated = await generateLog(sql, EVENTS, (line) => console.log(`  ${line}`));
    return { url: url.toString(), generated, reused: false };
  } finally {
    await sql.end();
  }
}

interface Case {
  name: string;
  /** Requests per second for this case (the heavy aggregates run slower). */
  rate: number;
  graphql: (i: number) => { query: string; variables: Record<string, unknown> };
  /** The domain calls the resolvers make for input i, run once over the recording client. */
  domain: (db: Db, i: number) => Promise<unknown>;
}

const dataset = (i: number) => `ds-${1 + ((i * 7_919) % DATASETS)}`;
const query = (i: number) => `q-${1 + ((i * 104_729) % QUERIES)}`;
const user = (i: number) => `user${1 + ((i * 7) % USERS)}`;

const ACTIVITY = `query($type: String!, $id: ID!) { entity(type: $type, id: $id) {
  activity(days: 365, first: 50) { edges { cursor node { id type user message occurredAt params } } pageInfo { hasNextPage endCursor } } } }`;
const EVENTS_QUERY = `query($f: EventFilter) { events(filter: $f, first: 50) {
  edges { cursor node { id type user message occurredAt params } } pageInfo { hasNextPage endCursor } } }`;

const activityCase = (name: string, type: string, id: (i: number) => string): Case => ({
  name,
  rate: RATE,
  graphql: (i) => ({ query: ACTIVITY, variables: { type, id: id(i) } }),
  domain: async (db, i) => {
    const entity = await findEntity(db, type, id(i));
    return entityActivity(db, entity!, 365, { first: 50 });
  },
});

function cases(end: Date): Case[] {
  // A three-day window around the start of the month before last: two partitions.
  const boundary = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 2, 1));
  const rangeFilter = (i: number): EventFilter => ({
    types: ['query-start', 'job-start'],
    since: new Date(boundary.getTime() - DAY - (i % 24) * 3_600_000),
    until: new Date(boundary.getTime() + 2 * DAY),
  });
  const typeUser = (i: number): EventFilter => ({ types: ['query-start', 'script-start'], user: user(i) });
  return [
    activityCase(`entity activity, a dataset (~${fmt((EVENTS * 1.0) / DATASETS)} events a year)`, 'dataset', dataset),
    activityCase(`entity activity, a query (~${fmt((EVENTS * 0.75) / QUERIES)} events a year)`, 'query', query),
    {
      name: 'events by 2 types and a user',
      rate: RATE,
      graphql: (i) => ({ query: EVENTS_QUERY, variables: { f: typeUser(i) } }),
      domain: (db, i) => findEvents(db, typeUser(i), { first: 50 }),
    },
    {
      name: 'events by 2 types in 3 days across a month boundary',
      rate: RATE,
      graphql: (i) => ({ query: EVENTS_QUERY, variables: { f: { ...rangeFilter(i), since: rangeFilter(i).since!.toISOString(), until: rangeFilter(i).until!.toISOString() } } }),
      domain: (db, i) => findEvents(db, rangeFilter(i), { first: 50 }),
    },
    {
      name: 'entity usage, a query, 30 days',
      rate: RATE,
      graphql: (i) => ({
        query: `query($id: ID!) { entity(type: "query", id: $id) { usage(days: 30) { total distinctUsers byType { key count } byUser { key count } byDay { key count } } } }`,
        variables: { id: query(i) },
      }),
      domain: async (db, i) => {
        const entity = await findEntity(db, 'query', query(i));
        return entityUsage(db, entity!.id, 30);
      },
    },
    {
      name: 'usage by type, last 24 hours (~27,000 events)',
      rate: Math.max(1, Math.round(RATE / 10)),
      graphql: () => ({ query: `query($f: EventFilter) { usage(groupBy: TYPE, filter: $f) { total distinctUsers rows { nodes { key count distinctUsers } } } }`, variables: { f: { since: new Date(end.getTime() - DAY).toISOString() } } }),
      domain: (db) => usage(db, { since: new Date(end.getTime() - DAY) }, 'TYPE', { first: 50 }),
    },
  ];
}

/**
 * POSTs a GraphQL operation over a kept-alive connection; fails on any GraphQL error. A request on
 * a connection the server closed as idle meanwhile (its keep-alive timeout, between cases) is sent
 * again once, on a new one; the latency counts both.
 */
function graphqlClient(url: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const once = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}`, 'content-length': Buffer.byteLength(body) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200 || text.includes('"errors"')) reject(new Error(`${response.statusCode}: ${text.slice(0, 300)}`));
          else resolve();
        });
      });
      request.on('error', reject);
      request.end(body);
    });
  return {
    post: (body: string): Promise<void> =>
      once(body).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNRESET') throw error;
        return once(body);
      }),
    close: () => agent.destroy(),
  };
}

/** Runs `send(i)` at `rate` per second for SECONDS, open loop; latencies (ms) from each scheduled send time, sorted. */
async function steady(rate: number, send: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const total = Math.max(1, Math.round(rate * SECONDS));
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(i).then(() => void latencies.push(performance.now() - due)));
  }
  await Promise.all(inFlight);
  return latencies.sort((a, b) => a - b);
}

interface Statement {
  query: string;
  params: unknown[];
}

const { url, generated, reused } = await prepareDatabase();
console.log(`machine: ${machine()}; load average ${load()}`);
console.log(
  `${fmt(generated.events)} events, ${fmt(generated.parameterValues)} parameter values, ${fmt(DATASETS)} datasets + ${fmt(QUERIES)} queries, ${fmt(USERS)} users, ` +
    `${reused ? 'reused' : `generated in ${fmt(generated.seconds.events + generated.seconds.values + generated.seconds.indexes + generated.seconds.analyze)} s (${JSON.stringify(generated.seconds)})`}`,
);
// Started after the load, so that its feed starts at the end of the log instead of reading it all.
const server = await startServer(url, { LOG_LEVEL }, { quiet: true });
const client = graphqlClient(server.url);
// The replay client, prepared like the server's statements; json parameters pass as text, as Drizzle sends them.
const direct = postgres(url, { max: 10, onnotice: () => {} });
drizzle({ client: direct });
const captured: Statement[] = [];
const recorder = postgres(url, { max: 1, onnotice: () => {}, debug: (_c, query, params) => captured.push({ query, params: params as unknown[] }) });
const recordingDb = drizzle({ client: recorder, schema }) as unknown as Db;

const rows: string[] = [];
const explains: string[] = [];
try {
  console.log(`\n${RATE} requests/s (usage by type: a tenth), ${SECONDS} s per case and path; server LOG_LEVEL=${LOG_LEVEL}\n`);
  for (const c of cases(generated.end)) {
    // The statements of VARIANTS inputs, as the domain functions send them once warm (the server
    // reads parameter names once, then from memory: a first call here would record that read too).
    await c.domain(recordingDb, 0);
    const statements: Statement[][] = [];
    for (let v = 0; v < VARIANTS; v++) {
      captured.length = 0;
      await c.domain(recordingDb, v);
      statements.push(captured.filter((s) => !s.query.includes('pg_catalog.pg_type')).map((s) => ({ ...s })));
    }
    const replay = async (i: number) => {
      for (const s of statements[i % VARIANTS]!) await direct.unsafe(s.query, s.params as never[], { prepare: true });
    };
    const viaGraphql = (i: number) => client.post(JSON.stringify(c.graphql(i % VARIANTS)));
    for (let i = 0; i < 2 * VARIANTS; i++) {
      await viaGraphql(i);
      await replay(i);
    }
    const before = load();
    const g = await steady(c.rate, viaGraphql);
    const s = await steady(c.rate, replay);
    const [g50, g99, s50, s99] = [percentile(g, 50), percentile(g, 99), percentile(s, 50), percentile(s, 99)];
    const row = `| ${c.name} | ${statements[0]!.length} | ${fmt(g50, 2)} | ${fmt(g99, 2)} | ${fmt(s50, 2)} | ${fmt(s99, 2)} | ${fmt(g50 / s50, 2)} | ${fmt(g99 / s99, 2)} | ${before} → ${load()} |`;
    rows.push(row);
    console.log(row);
    for (const statement of statements[0]!) {
      const plan = await direct.unsafe(`explain (analyze, buffers) ${statement.query}`, statement.params as never[]);
      const lines = plan.map((r) => String(r['QUERY PLAN']));
      const summary = lines.filter((l) => /Planning Time|Execution Time/.test(l)).map((l) => l.trim()).join(', ');
      const shape = [...new Set(lines.filter((l) => /Scan|Merge Append|Aggregate|Sort |Limit/.test(l) && !/never executed/.test(l)).map((l) => l.trim().replace(/^->\s*/, '').replace(/\s+\(cost.*$/, '').replace(/ on \w+_p\d{4}_\d{2}.*$/, ' (per month)').replace(/using \w+_p\d{4}_\w+/, 'using <month>')))];
      const buffers = lines.find((l) => /Buffers:/.test(l))?.trim() ?? '';
      explains.push(`- ${c.name}: ${statement.query.replace(/\s+/g, ' ').slice(0, 60)}… — ${summary}; ${buffers}\n    ${shape.slice(0, 10).join(' | ')}`);
    }
  }
  console.log(`\nmachine: ${machine()}; load average at the end ${load()}\n`);
  console.log('| query | statements | GraphQL p50 ms | GraphQL p99 ms | SQL p50 ms | SQL p99 ms | ratio p50 | ratio p99 | load average (1, 5, 15 min) before → after |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const row of rows) console.log(row);
  console.log('\ngoal: entity activity p50 < 2 ms and p99 < 10 ms\n\nEXPLAIN (ANALYZE, BUFFERS), first input of each case (plan shape: distinct scan and join nodes):');
  for (const line of explains) console.log(line);
} finally {
  client.close();
  await recorder.end();
  await direct.end();
  await server.stop();
  if (!KEEP) {
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists audit_bench_history_${EVENTS} with (force)`);
    await admin.end();
  }
}
