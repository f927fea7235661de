import { spawn } from 'node:child_process';
import { BENCH_KEY, freshBenchDatabase, gql } from './lib.js';
import { cpuOf, postgresPids } from './_cpu.js';
const types = ['query-start', 'script-start', 'project-opened', 'entity-shared', 'query-edited'];
function event(i: number) {
  return { type: types[i % 5]!, message: `Action ${i} on the sales dataset`, user: `user${i % 200}`, source: 'UI', durationMs: (i % 500) + 0.5,
    parameters: { dataset: { type: 'dataset', id: `ds-${i % 5000}`, name: `Dataset ${i % 5000}` }, ...(i % 2 ? { query: { type: 'query', id: `q-${i % 3000}` } } : { rows: i * 7 }), columns: 12, filter: `region = 'EU' and year = ${2000 + (i % 25)}`, client: 'web 4.2.1' } };
}
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`;
const url = await freshBenchDatabase('audit_prof');
import postgres from 'postgres';
const admin = postgres(url, { max: 1 });
async function dbPids(): Promise<number[]> { return (await admin`select pid from pg_stat_activity where datname = 'audit_prof' and pid <> pg_backend_pid()`).map((r) => r.pid as number); }
const port = 4999;
const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', 'src/main.ts'], { env: { ...process.env, DATABASE_URL: url, PORT: String(port), LOG_LEVEL: 'warn', AUDIT_BOOTSTRAP_ADMIN_KEY: BENCH_KEY, WRITE_RATE_LIMIT: '0', PG_DEBUG: process.env.PG_DEBUG ?? '', NO_TAIL: process.env.NO_TAIL ?? '' }, stdio: 'inherit' });
for (;;) { try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
const server = { url: `http://127.0.0.1:${port}/graphql`, stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
async function run(batch: number, clients: number, total: number) {
  let next = 0; const batches = total / batch; const t = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => { for (;;) { const b = next++; if (b >= batches) return; if (process.env.Q) await gql(server.url, process.env.Q, {}); else await gql(server.url, LOG_BATCH, { events: Array.from({ length: batch }, (_, j) => event(b * batch + j)) }); } }));
  return total / ((performance.now() - t) / 1000);
}
await run(1000, 2, 10000);
for (const [b, c] of (process.env.ONLY ? [JSON.parse(process.env.ONLY)] : [[1000, 4], [1000, 2], [100, 4], [1, 8]])) {
  const n = Number(process.env.N ?? (b === 1 ? 1000 : 40000));
  const pg = await dbPids(); const s0 = cpuOf([child.pid!]); const p0 = cpuOf(pg); const c0 = process.cpuUsage();
  const rate = await run(b, c, n);
  const s1 = cpuOf([child.pid!]); const pgAfter = await dbPids(); const p1 = cpuOf(pgAfter); const pNew = pgAfter.filter((x) => !pg.includes(x)); const c1 = process.cpuUsage(c0);
  console.log(`batch ${b} x${c}: ${Math.round(rate)} ev/s; CPU µs/event: server ${((s1 - s0) / n * 1e6).toFixed(0)}, postgres ${((p1 - p0) / n * 1e6).toFixed(0)} (+${pNew.length} new backends), client ${((c1.user + c1.system) / n).toFixed(0)}`);
}
await server.stop(); await admin.end();
