import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase, queryRows } from '../src/db/client.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { freshDatabase, sql } from './helpers/server.js';

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`;
const SHUTDOWN_TIMEOUT_MS = 5000;

let server: ChildServer;
let dataDir: string | undefined;
let databaseUrl: string | undefined;
let dropDatabase = async () => {};

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    const fresh = await freshDatabase();
    await fresh.database.close();
    databaseUrl = fresh.url!;
    dropDatabase = fresh.drop;
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'audit-shutdown-'));
  }
  server = await startChildServer({
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }),
  });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await dropDatabase();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function storedKeys(): Promise<string[]> {
  const database = await openDatabase(databaseUrl ? { databaseUrl, dataDir: 'unused', poolSize: 1 } : { dataDir: dataDir! });
  try {
    const rows = await queryRows<{ key: string }>(database.db, sql`select idempotency_key as key from events where idempotency_key is not null`);
    return rows.map((r) => r.key);
  } finally {
    await database.close();
  }
}

describe('SIGTERM', () => {
  it('answers /ready, then under load stops within the bound, closes WebSockets with 1001 and loses no acknowledged event', async () => {
    const ready = await fetch(`${server.base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok', migrations: { missing: [] } });
    const traced = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-sigterm-1', ...server.auth }, body: JSON.stringify({ query: '{ eventTypes { name } }' }) });
    expect(traced.headers.get('x-request-id')).toBe('trace-sigterm-1');

    // A live subscriber: it must be told "going away", not dropped.
    let closeCode: number | undefined;
    const ws = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: server.auth, on: { closed: (e) => (closeCode = (e as { code: number }).code) } });
    let live = 0;
    ws.subscribe({ query: 'subscription { events { id } }' }, { next: () => void live++, error: () => {}, complete: () => {} });

    const acked = new Set<string>();
    const unexpected: unknown[] = [];
    let refusedAfterStop = 0;
    let stopAt = 0;
    const writer = async (w: number) => {
      for (let n = 0; ; n++) {
        const keys = Array.from({ length: 25 }, (_, i) => `w${w}-b${n}-${i}`);
        let response: Response;
        try {
          response = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...server.auth },
            body: JSON.stringify({ query: LOG_BATCH, variables: { events: keys.map((key) => ({ type: 'load', message: key, idempotencyKey: key })) } }),
            signal: AbortSignal.timeout(15_000),
          });
        } catch {
          if (!stopAt) unexpected.push('connection failed before SIGTERM');
          else refusedAfterStop++;
          return;
        }
        const body = (await response.json()) as { data?: { logBatch?: { recorded: number } }; errors?: Array<{ extensions?: { code?: string } }> };
        if (response.status === 503 && body.errors?.[0]?.extensions?.code === 'SHUTTING_DOWN') {
          refusedAfterStop++;
          return;
        }
        if (body.data?.logBatch?.recorded === 25) keys.forEach((k) => acked.add(k));
        else unexpected.push(body);
      }
    };
    const writers = Promise.all([0, 1, 2, 3].map(writer));
    while (acked.size < 500) await new Promise((r) => setTimeout(r, 20));
    stopAt = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    const took = Date.now() - stopAt;
    await writers;

    expect(unexpected).toEqual([]);
    expect(code).toBe(0);
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1000);
    expect(refusedAfterStop).toBeGreaterThan(0);
    expect(closeCode).toBe(1001);
    expect(live).toBeGreaterThan(0);
    expect(server.logs.some((l) => l.msg === 'stopped' && l.clean === true)).toBe(true);
    // Structured access log: one JSON line per request, with its request id.
    expect(server.logs.find((l) => l.requestId === 'trace-sigterm-1')).toMatchObject({ msg: 'request', status: 200, method: 'POST', path: '/graphql' });

    const stored = await storedKeys();
    expect(new Set(stored).size).toBe(stored.length);
    const storedSet = new Set(stored);
    const lost = [...acked].filter((k) => !storedSet.has(k));
    expect(lost).toEqual([]);
    await ws.dispose();
  });
});
