import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
let base: string;
beforeAll(async () => {
  server = await startTestServer();
  base = server.url.replace(/\/graphql$/, '');
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates } }`;

/** The value of one sample in Prometheus text format (0 when absent). */
async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('/health and /ready', () => {
  it('/health answers while the process lives', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/ready is 200 with every migration applied and 503 naming the migration that is missing', async () => {
    const ok = await fetch(`${base}/ready`);
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body).toMatchObject({ status: 'ready', database: 'ok', migrations: { missing: [] } });
    expect(body.migrations.expected).toBeGreaterThan(0);

    const [latest] = await server.rows<{ id: number; hash: string; created_at: string }>(
      sql`select id, hash, created_at::text from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    );
    await server.rows(sql`delete from drizzle.__drizzle_migrations where id = ${latest!.id}`);
    try {
      const notReady = await fetch(`${base}/ready`);
      expect(notReady.status).toBe(503);
      const missing = await notReady.json();
      expect(missing.status).toBe('not ready');
      expect(missing.migrations.missing.length).toBeGreaterThan(0);
    } finally {
      await server.rows(sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${latest!.id}, ${latest!.hash}, ${latest!.created_at}::bigint)`);
    }
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});

describe('request ids', () => {
  it('echoes a sane x-request-id and makes one up otherwise', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ eventTypes { name } }' }) });
    expect((await post({ 'x-request-id': 'trace-42.a:b' })).headers.get('x-request-id')).toBe('trace-42.a:b');
    const made = (await post({})).headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    const replaced = (await post({ 'x-request-id': 'no spaces <script>' })).headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced).not.toBe(made);
  });
});

describe('/metrics', () => {
  it('counts events received, recorded, left out by reason, write latency and open subscriptions', async () => {
    const before = {
      received: await metric('audit_events_received_total'),
      recorded: await metric('audit_events_recorded_total'),
      duplicate: await metric('audit_events_left_out_total', 'reason="duplicate"'),
      invalid: await metric('audit_events_left_out_total', 'reason="INVALID_EVENT_TYPE"'),
      ok: await metric('audit_write_duration_seconds_count', 'outcome="ok"'),
      error: await metric('audit_write_duration_seconds_count', 'outcome="error"'),
    };
    const events = ['m1', 'm2', 'm3'].map((key) => ({ type: 'metrics-test', message: key, idempotencyKey: `metrics-${key}` }));
    expect((await server.gql(LOG_BATCH, { events })).data.logBatch).toEqual({ recorded: 3, duplicates: 0 });
    expect((await server.gql(LOG_BATCH, { events })).data.logBatch).toEqual({ recorded: 0, duplicates: 3 });
    const bad = await server.gql(LOG_BATCH, { events: [{ type: 'fine' }, { type: 'Not A Type!' }] });
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_EVENT_TYPE');

    expect(await metric('audit_events_received_total')).toBe(before.received + 8);
    expect(await metric('audit_events_recorded_total')).toBe(before.recorded + 3);
    expect(await metric('audit_events_left_out_total', 'reason="duplicate"')).toBe(before.duplicate + 3);
    expect(await metric('audit_events_left_out_total', 'reason="INVALID_EVENT_TYPE"')).toBe(before.invalid + 2);
    expect(await metric('audit_write_duration_seconds_count', 'outcome="ok"')).toBe(before.ok + 2);
    expect(await metric('audit_write_duration_seconds_count', 'outcome="error"')).toBe(before.error + 1);

    expect(await metric('audit_open_subscriptions')).toBe(0);
    const live = subscribe(server.wsClient(), 'subscription { events { id } }');
    await untilSubscribed(server, 1);
    expect(await metric('audit_open_subscriptions')).toBe(1);
    live.unsubscribe();
    await untilSubscribed(server, 0);
    expect(await metric('audit_open_subscriptions')).toBe(0);
  });

  it('reports the lag an exporter registers, and process metrics', async () => {
    server.services.metrics.registerExportLag('test-exporter', () => 12.5);
    expect(await metric('audit_export_lag_seconds', 'exporter="test-exporter"')).toBe(12.5);
    expect(await metric('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
