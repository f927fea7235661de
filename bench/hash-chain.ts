// What the hash chain costs: ingest N events in batches with and without sealing.
// npx tsx bench/hash-chain.ts [events] [batchSize]   (an in-memory embedded database; with DATABASE_URL,
// point it at a scratch database: the script migrates it and leaves its rows there)
import { Ingestor } from '../src/audit/ingest.js';
import { eventHash } from '../src/audit/integrity.js';
import { openDatabase, runMigrations } from '../src/db/client.js';
import { loadEnv } from '../src/env.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';

const total = Number(process.argv[2] ?? 20_000);
const batchSize = Number(process.argv[3] ?? 500);
const env = loadEnv({ ...process.env, LOG_LEVEL: 'silent', AUDIT_BOOTSTRAP_ADMIN_KEY: 'bench-admin-key-0123456789' });
const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: 'memory://' });
await runMigrations(database);
const services = await createServices(database, env, createLogger('silent'));
const ingestor: Ingestor = services.ingestor;
const batch = (b: number) =>
  Array.from({ length: batchSize }, (_, i) => ({ type: 'query-start', user: `u${i % 50}`, message: `event ${b}.${i}`, durationMs: i, parameters: { query: { type: 'query', id: `q${i % 100}` }, rows: i } }));

let started = performance.now();
for (let b = 0; b < total / batchSize; b++) await ingestor.logBatch(batch(b));
const withChain = performance.now() - started;

// The hashing itself, in isolation: canonical form + SHA-256 per event.
const events = (await services.ingestor.logBatch(batch(-1))).map((o) => o.event!);
started = performance.now();
for (let r = 0; r < total / batchSize; r++) {
  let previous = '';
  for (const event of events) previous = eventHash(previous, event);
}
const hashing = performance.now() - started;
console.log(JSON.stringify({ mode: database.mode, events: total, batchSize, ingestMs: Math.round(withChain), eventsPerSecond: Math.round((total / withChain) * 1000), hashingMs: Math.round(hashing), hashingShare: `${((hashing / withChain) * 100).toFixed(1)}%` }));
await database.close();
