// Does signing checkpoints slow ingestion? logBatch throughput (in-process Ingestor, 2 writers) with
// nothing else running, next to the same with a signer creating checkpoints back to back (far more
// often than any CHECKPOINT_INTERVAL_MINUTES), rounds interleaved; plus what one checkpoint costs.
// npm run bench:checkpoints   (PostgreSQL: a fresh database bench_checkpoints at DATABASE_URL or the
// local server; BENCH_EMBEDDED=1 for an in-memory PGlite). BENCH_EVENTS per round, default 20,000.
import { generateKeyPairSync, sign } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { openDatabase, queryRows, runMigrations } from '../src/db/client.js';
import { loadEnv } from '../src/env.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { fmt, freshBenchDatabase, machine } from './lib.js';

const perRound = Number(process.env.BENCH_EVENTS ?? 20_000);
const rounds = 5;
const batchSize = 500;
const writers = 2;
const key = generateKeyPairSync('ed25519').privateKey;
const env = loadEnv({
  LOG_LEVEL: 'silent',
  AUDIT_BOOTSTRAP_ADMIN_KEY: 'bench-admin-key-0123456789',
  AUDIT_CHECKPOINT_KEY: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
  CHECKPOINT_INTERVAL_MINUTES: '0',
  WRITE_RATE_LIMIT: '0',
});
const embedded = process.env.BENCH_EMBEDDED === '1';
const database = await openDatabase(embedded ? { dataDir: 'memory://' } : { databaseUrl: await freshBenchDatabase('bench_checkpoints'), dataDir: 'unused', poolSize: 6 });
await runMigrations(database);
const services = await createServices(database, env, createLogger('silent'));
const batch = (w: number, b: number) =>
  Array.from({ length: batchSize }, (_, i) => ({ type: 'query-start', user: `u${i % 50}`, message: `event ${w}.${b}.${i}`, durationMs: i, parameters: { query: { type: 'query', id: `q${i % 100}` }, rows: i } }));

async function ingestRound(round: number): Promise<number> {
  const started = performance.now();
  const perWriter = perRound / writers / batchSize;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let b = 0; b < perWriter; b++) await services.ingestor.logBatch(batch(w, round * 1000 + b));
  }));
  return (perRound / (performance.now() - started)) * 1000;
}

async function withSigner<T>(work: () => Promise<T>): Promise<{ result: T; signed: number }> {
  let stop = false;
  let signed = 0;
  const signer = (async () => {
    while (!stop) {
      await services.checkpoints.create();
      signed++;
    }
  })();
  const result = await work();
  stop = true;
  await signer;
  return { result, signed };
}

await ingestRound(-1); // warm-up: caches, partitions, JIT
const plain: number[] = [];
const signing: number[] = [];
let signedTotal = 0;
for (let r = 0; r < rounds; r++) {
  plain.push(await ingestRound(2 * r));
  const { result, signed } = await withSigner(() => ingestRound(2 * r + 1));
  signing.push(result);
  signedTotal += signed;
}

// One checkpoint, alone: the signature, and create() (read the head, sign, two inserts).
const message = Buffer.from('audit-service checkpoint v1\nbatch 1\n'.padEnd(200, 'x'));
let started = performance.now();
for (let i = 0; i < 2000; i++) sign(null, message, key);
const signUs = ((performance.now() - started) / 2000) * 1000;
started = performance.now();
for (let i = 0; i < 200; i++) await services.checkpoints.create();
const createMs = (performance.now() - started) / 200;
const [{ n: stored } = { n: 0 }] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from checkpoints`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(plain);
const withKey = median(signing);
console.log(`${machine()}; ${database.mode}; ${rounds} rounds × ${fmt(perRound)} events, ${writers} writers, batches of ${batchSize}`);
console.log(`logBatch alone:                 ${plain.map((x) => fmt(x)).join(' / ')} events/s (median ${fmt(base)})`);
console.log(`logBatch while signing nonstop: ${signing.map((x) => fmt(x)).join(' / ')} events/s (median ${fmt(withKey)}), ${fmt(signedTotal)} checkpoints signed meanwhile`);
console.log(`ratio (signing / alone): ${(withKey / base).toFixed(2)}`);
console.log(`one Ed25519 signature: ${signUs.toFixed(1)} µs; one createCheckpoint (head read, sign, store): ${createMs.toFixed(2)} ms; ${fmt(stored)} checkpoints stored`);
await services.close();
await database.close();
