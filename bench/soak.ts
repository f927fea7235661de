/**
 * Soak: sustained ingestion plus live subscribers against the real server (src/main.ts in its own
 * process), for a set time. Reports throughput and write latency per interval, the server's memory
 * at start and end, and lost events (acknowledged but not stored, or not delivered to a
 * subscriber): both must be 0.
 *
 *   npm run bench:soak -- 60            # seconds (or SOAK_SECONDS)
 *   SOAK_WRITERS=4 SOAK_BATCH=50 SOAK_SUBSCRIBERS=4 SOAK_INTERVAL=5 npm run bench:soak -- 60
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:soak -- 60   # a fresh database on that server
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import { openDatabase, queryRows } from '../src/db/client.js';
import { startChildServer } from '../test/helpers/child-server.js';

const num = (value: string | undefined, fallback: number) => (value && Number.isFinite(Number(value)) ? Number(value) : fallback);
const SECONDS = num(process.argv[2] ?? process.env.SOAK_SECONDS, 60);
const WRITERS = num(process.env.SOAK_WRITERS, 4);
const BATCH = num(process.env.SOAK_BATCH, 50);
const SUBSCRIBERS = num(process.env.SOAK_SUBSCRIBERS, 4);
const INTERVAL = num(process.env.SOAK_INTERVAL, 5);
const adminUrl = process.env.DATABASE_URL;

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates } }`;

async function main() {
  // A database of its own: a new PostgreSQL database, or an embedded one in a temporary folder.
  let databaseUrl: string | undefined;
  let dataDir: string | undefined;
  const dbName = `audit_soak_${process.pid}_${randomBytes(3).toString('hex')}`;
  if (adminUrl) {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${dbName}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'audit-soak-'));
  }
  // A fixed free port: with LOG_LEVEL=warn the server prints no "ready" line (nor an access-log line per request).
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const server = await startChildServer({ LOG_LEVEL: 'warn', PORT: String(port), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }) }, 300_000);
  const base = server.base;

  const memory = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
    return { rssMiB: value('process_resident_memory_bytes') / 2 ** 20, heapMiB: value('nodejs_heap_size_used_bytes') / 2 ** 20 };
  };

  // Subscribers: each counts what it receives and remembers the ids (to check for repeats).
  const received = Array.from({ length: SUBSCRIBERS }, () => new Set<string>());
  let subscriberErrors = 0;
  const clients = received.map((ids) => {
    const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: server.auth });
    client.subscribe<{ events: { id: string } }>(
      { query: 'subscription { events(filter: { types: ["soak"] }) { id } }' },
      { next: (m) => (m.data ? ids.add(m.data.events.id) : subscriberErrors++), error: () => subscriberErrors++, complete: () => {} },
    );
    return client;
  });
  for (let i = 0; i < 100 && Number((await (await fetch(`${base}/metrics`)).text()).match(/^audit_open_subscriptions (\d+)/m)?.[1]) < SUBSCRIBERS; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }

  const start = await memory();
  const startedAt = Date.now();
  const endAt = startedAt + SECONDS * 1000;
  let acked = 0;
  let writeErrors = 0;
  let interval = { events: 0, latencies: [] as number[] };
  const rows: Array<Record<string, number | string>> = [];

  const writer = async (w: number) => {
    for (let n = 0; Date.now() < endAt; n++) {
      const events = Array.from({ length: BATCH }, (_, i) => ({
        type: 'soak',
        message: `writer ${w} batch ${n} event ${i}`,
        user: `user-${(n + i) % 50}`,
        parameters: { query: { type: 'query', id: String((n * BATCH + i) % 500) }, n, i },
        idempotencyKey: `soak-${w}-${n}-${i}`,
      }));
      for (;;) {
        const t0 = performance.now();
        const res = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...server.auth },
          body: JSON.stringify({ query: LOG_BATCH, variables: { events } }),
        }).then((r) => r.json() as Promise<{ data?: { logBatch?: { recorded: number; duplicates: number } } }>);
        if (res.data?.logBatch) {
          const ms = performance.now() - t0;
          acked += BATCH;
          interval.events += BATCH;
          interval.latencies.push(ms);
          break;
        }
        writeErrors++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const reporter = setInterval(() => {
    const current = interval;
    interval = { events: 0, latencies: [] };
    void (async () => {
      const sorted = [...current.latencies].sort((a, b) => a - b);
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1) : '-');
      const mem = await memory();
      const row = {
        t: Math.round((Date.now() - startedAt) / 1000),
        eventsPerSec: Math.round(current.events / INTERVAL),
        p50ms: pct(0.5),
        p99ms: pct(0.99),
        rssMiB: Math.round(mem.rssMiB),
        heapMiB: Math.round(mem.heapMiB),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    })();
  }, INTERVAL * 1000);
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  clearInterval(reporter);
  const elapsed = (Date.now() - startedAt) / 1000;

  // Let the subscribers catch up, then measure memory before stopping.
  for (let i = 0; i < 200 && received.some((ids) => ids.size < acked); i++) await new Promise((r) => setTimeout(r, 50));
  const end = await memory();
  await Promise.all(clients.map((c) => c.dispose()));

  const stopAt = Date.now();
  server.child.kill('SIGTERM');
  const exitCode = await server.exited;
  const shutdownMs = Date.now() - stopAt;

  const database = await openDatabase(databaseUrl ? { databaseUrl, dataDir: 'unused', poolSize: 1 } : { dataDir: dataDir! });
  const [stored] = await queryRows<{ events: number; keys: number }>(
    database.db,
    sql`select count(*)::int as events, count(distinct idempotency_key)::int as keys from events where idempotency_key like 'soak-%'`,
  );
  await database.close();
  if (adminUrl) {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  const summary = {
    database: adminUrl ? 'PostgreSQL' : 'embedded PGlite',
    seconds: Math.round(elapsed),
    writers: WRITERS,
    batch: BATCH,
    subscribers: SUBSCRIBERS,
    acknowledged: acked,
    eventsPerSec: Math.round(acked / elapsed),
    stored: stored!.events,
    lostStored: acked - stored!.keys,
    duplicatesStored: stored!.events - stored!.keys,
    lostLive: received.map((ids) => acked - ids.size),
    writeErrors,
    subscriberErrors,
    memoryStartMiB: { rss: Math.round(start.rssMiB), heap: Math.round(start.heapMiB) },
    memoryEndMiB: { rss: Math.round(end.rssMiB), heap: Math.round(end.heapMiB) },
    shutdown: { exitCode, ms: shutdownMs },
  };
  console.log(JSON.stringify(summary, null, 2));
  const ok = summary.lostStored === 0 && summary.duplicatesStored === 0 && summary.lostLive.every((n) => n === 0) && exitCode === 0;
  console.log(ok ? 'SOAK OK: no event lost' : 'SOAK FAILED');
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
