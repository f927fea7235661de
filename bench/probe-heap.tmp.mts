import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { BENCH_AUTH, freshBenchDatabase, gql, startServer } from './lib.js';
const N = Number(process.env.N ?? 2000);
const QUERY = process.env.Q ?? 'subscription { errors { id message } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = process.env.SNAPDIR!;
const db = await freshBenchDatabase('audit_probe_heap');
const server = await startServer(db, { SUBSCRIBER_BUFFER: '10000' });
const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('src/main.ts') && readFileSync(`/proc/${p}/environ`, 'utf8').includes('audit_probe_heap'); } catch { return false; }
});
const pid = Number(pids[0]);
async function snap(name: string) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) { await sleep(500); const now = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot')); if (now.length) { await sleep(3000); console.log(name, now[0]); return; } }
}
const sockets: WebSocket[] = [];
let got = 0;
await sleep(1000);
await snap('idle');
for (let i = 0; i < N; i++) {
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: BENCH_AUTH })));
    ws.on('message', (d) => { const m = String(d); if (m.includes('connection_ack')) resolve(); else if (m.includes('probe')) got++; });
    sockets.push(ws);
  });
}
await sleep(1000);
await snap('sockets');
for (const ws of sockets) ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
while (got < N) { await gql(server.url, 'mutation { log(input: { type: "error", message: "probe" }) { recorded } }'); await sleep(500); }
await sleep(1000);
await snap('subscribed');
for (const ws of sockets) ws.close();
await server.stop();
process.exit(0);
