/**
 * Ingestion: logBatch over HTTP at several batch sizes and client concurrencies, against
 * postgres.js writing the same rows to the same tables with COPY, in the same run.
 *   npm run bench:ingest            (BENCH_EVENTS=20000 by default)
 */
import postgres from 'postgres';
import { loadavg } from 'node:os';
import { cpuCost, fmt, freshBenchDatabase, gql, machine, startServer } from './lib.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 20_000);
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`;
const types = ['query-start', 'script-start', 'project-opened', 'entity-shared', 'query-edited'];

/** A realistic event: 5 parameters, 1–2 of them entities. */
function event(i: number) {
  return {
    type: types[i % types.length]!,
    message: `Action ${i} on the sales dataset`,
    user: `user${i % 200}`,
    source: 'UI',
    durationMs: (i % 500) + 0.5,
    parameters: {
      dataset: { type: 'dataset', id: `ds-${i % 5000}`, name: `Dataset ${i % 5000}` },
      ...(i % 2 ? { query: { type: 'query', id: `q-${i % 3000}` } } : { rows: i * 7 }),
      columns: 12,
      filter: `region = 'EU' and year = ${2000 + (i % 25)}`,
      client: 'web 4.2.1',
    } as Record<string, unknown>,
  };
}

async function runServer(url: string, batchSize: number, concurrency: number, total: number): Promise<number> {
  const batches = Math.ceil(total / batchSize);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const b = next++;
        if (b >= batches) return;
        const events = Array.from({ length: batchSize }, (_, j) => event(b * batchSize + j));
        const data = await gql(url, LOG_BATCH, { events });
        if (data.logBatch.recorded !== batchSize) throw new Error('not all recorded');
      }
    }),
  );
  return (batches * batchSize) / ((performance.now() - started) / 1000);
}

const esc = (v: unknown) =>
  v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

/**
 * A postgres.js client with all its connections open, so that their backends are there when the
 * CPU of the phase is first read (a backend that comes and goes within a phase is not counted).
 */
async function copyClient(connections: number): Promise<postgres.Sql> {
  const sql = postgres(databaseUrl, { max: connections, onnotice: () => {} });
  await Promise.all(Array.from({ length: connections }, () => sql`select pg_sleep(0.05)`));
  return sql;
}

/**
 * The same rows, written straight into the same tables with COPY, 1,000 events per transaction,
 * from `connections` connections at once (no hash chain, no feed, no GraphQL: the floor).
 */
async function runCopy(sql: postgres.Sql, total: number, connections: number): Promise<number> {
  const typeIds = new Map((await sql`select id, name from event_types`).map((r) => [r.name as string, r.id as number]));
  const userIds = new Map((await sql`select id, login from users`).map((r) => [r.login as string, r.id as string]));
  const entityIds = new Map((await sql`select id, type, external_id from entities`).map((r) => [`${r.type}/${r.external_id}`, r.id as string]));
  const paramIds = new Map((await sql`select id, event_type_id, name from event_parameters`).map((r) => [`${r.event_type_id}/${r.name}`, r.id as number]));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (;;) {
        const b = next++;
        if (b >= total / 1000) return;
        await sql.begin(async (tx) => {
          const ids = (await tx`select nextval('events_id_seq')::text as id from generate_series(1, 1000)`) as unknown as Array<{ id: string }>;
          const now = new Date().toISOString();
          const eventLines: string[] = [];
          const valueLines: string[] = [];
          ids.forEach(({ id }, j) => {
            const e = event(b * 1000 + j);
            const typeId = typeIds.get(e.type)!;
            eventLines.push([id, now, now, typeId, null, userIds.get(e.user), e.message, e.source, e.durationMs, false, null, null, null, null].map(esc).join('\t'));
            for (const [name, value] of Object.entries(e.parameters)) {
              const ref = typeof value === 'object' ? (value as { type: string; id: string }) : null;
              valueLines.push([id, now, paramIds.get(`${typeId}/${name}`), 0, ref ? ref.id : value, ref ? entityIds.get(`${ref.type}/${ref.id}`) : null].map(esc).join('\t'));
            }
          });
          const events = await tx`copy events (id, occurred_at, recorded_at, event_type_id, session_id, user_id, description, source, duration_ms, is_error, error_message, error_stack_trace, error_fingerprint, idempotency_key) from stdin`.writable();
          await new Promise<void>((resolve, reject) => events.on('error', reject).end(`${eventLines.join('\n')}\n`, () => resolve()));
          const values = await tx`copy event_parameter_values (event_id, occurred_at, parameter_id, position, value, entity_id) from stdin`.writable();
          await new Promise<void>((resolve, reject) => values.on('error', reject).end(`${valueLines.join('\n')}\n`, () => resolve()));
        });
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const DATABASE = 'audit_bench_ingest';
const databaseUrl = await freshBenchDatabase(DATABASE);
const server = await startServer(databaseUrl);
const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
const us = (seconds: number, events: number) => fmt((seconds / events) * 1e6);
try {
  // Warm-up: creates the users, entities and parameter definitions, and warms both sides.
  await runServer(server.url, 1000, 2, 10_000);
  console.log(`machine: ${machine()}, load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('CPU per event is the CPU time each process spent during the phase divided by its events (less sensitive to a shared machine than events/s).\n');
  console.log('| writer | batch | clients | events/s | ratio to COPY (same clients) | CPU µs/event: server | PostgreSQL | client |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const copyRates = new Map<number, number>();
  for (const connections of [1, 2, 4]) {
    const copying = await copyClient(connections);
    const cost = await cpuCost(admin, DATABASE, server.pid, () => runCopy(copying, TOTAL, connections));
    await copying.end();
    copyRates.set(connections, cost.result);
    console.log(`| postgres.js COPY | 1,000 | ${connections} | ${fmt(cost.result)} | 1.00 | — | ${us(cost.postgresSeconds, TOTAL)} | ${us(cost.clientSeconds, TOTAL)} |`);
  }
  const rows: Array<[number, number, number]> = [];
  for (const [batch, clients, total] of [
    [1, 1, 1000],
    [1, 8, 4000],
    [1, 32, 8000],
    [100, 1, TOTAL],
    [100, 4, TOTAL],
    [1000, 1, TOTAL],
    [1000, 2, TOTAL],
    [1000, 4, TOTAL],
  ] as const) {
    const cost = await cpuCost(admin, DATABASE, server.pid, () => runServer(server.url, batch, clients, total));
    rows.push([batch, clients, cost.result]);
    const copy = copyRates.get(Math.min(clients, 4))!;
    console.log(
      `| server logBatch | ${fmt(batch)} | ${clients} | ${fmt(cost.result)} | ${fmt(cost.result / copy, 2)} | ${us(cost.serverSeconds, total)} | ${us(cost.postgresSeconds, total)} | ${us(cost.clientSeconds, total)} |`,
    );
  }
  const [, bestClients, best] = rows.filter(([b]) => b === 1000).sort((a, b) => b[2] - a[2])[0]!;
  console.log(
    `\nbatch 1,000, best: ${fmt(best)} events/s with ${bestClients} clients = ${fmt(best / copyRates.get(Math.min(bestClients, 4))!, 2)} of COPY with as many connections, ${fmt(best / copyRates.get(1)!, 2)} of COPY on one (goals: ≥ 0.70 of COPY and ≥ 20,000 events/s)`,
  );
} finally {
  await admin.end();
  await server.stop();
}
