import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from './helpers/private-postgres.js';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

// This file brings its own PostgreSQL (stopping the shared one would break every other test file),
// so it runs in both suite runs, embedded or not. It needs the PostgreSQL server binaries.
const bin = postgresBinaries();

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates } }`;
type Body = { data?: { logBatch?: { recorded: number; duplicates: number } } | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

describe.skipIf(!bin)('database faults on a private PostgreSQL', () => {
  let pg: PrivatePostgres;
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    server = await startTestServer({}, { databaseUrl: pg.url });
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await server?.stop();
    pg?.destroy();
  });

  const post = async (events: unknown[]): Promise<Body> => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${server.adminKey}` },
      body: JSON.stringify({ query: LOG_BATCH, variables: { events } }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as Body;
    // Never a bare 5xx: an error the client can act on comes with a GraphQL body.
    if (res.status >= 500) expect(body.errors?.length).toBeGreaterThan(0);
    return body;
  };

  it('a transaction broken mid-way is DATABASE_UNAVAILABLE (retryable) and leaves nothing behind', async () => {
    const admin = postgres(pg.url, { max: 2, onnotice: () => {} });
    try {
      const locker = await admin.reserve();
      await locker`begin`;
      await locker`lock table events in access exclusive mode`;
      const batch = [{ type: 'mid-tx', user: 'mid-tx-user', message: 'one', idempotencyKey: 'mid-tx-1' }];
      const pending = post(batch);
      // Wait until the server's transaction (it has already inserted the new user) blocks on the lock.
      for (let i = 0; ; i++) {
        const [row] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where application_name = 'audit-service' and wait_event_type = 'Lock'`;
        if (row!.n > 0) break;
        if (i > 500) throw new Error('the write never blocked on the lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'audit-service' and wait_event_type = 'Lock'`;
      const body = await pending;
      await locker`rollback`;
      locker.release();

      expect(body.data?.logBatch ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryable: true });
      const [left] = await admin<{ users: number; events: number }[]>`
        select (select count(*) from users where login = 'mid-tx-user')::int as users, (select count(*) from events)::int as events`;
      expect(left).toEqual({ users: 0, events: 0 });

      // The pool replaced the killed connection: the retry stores the event, once.
      expect((await post(batch)).data?.logBatch).toEqual({ recorded: 1, duplicates: 0 });
      expect((await post(batch)).data?.logBatch).toEqual({ recorded: 0, duplicates: 1 });
    } finally {
      await admin.end();
    }
  });

  it('PostgreSQL stopped and started during a stream of retried logBatch calls: each event stored exactly once, /ready recovers, subscriptions keep working', async () => {
    const WRITERS = 3;
    const BATCHES = 15;
    const SIZE = 20;
    const total = WRITERS * BATCHES * SIZE;

    const before = subscribe(server.wsClient(), `subscription { events(filter: { types: ["fault-stream"] }) { id type } }`);
    await untilSubscribed(server, 1);

    const codes = new Map<string, number>();
    const unexpected: unknown[] = [];
    let acked = 0;
    const writer = async (w: number) => {
      for (let b = 0; b < BATCHES; b++) {
        const events = Array.from({ length: SIZE }, (_, i) => ({ type: 'fault-stream', message: `w${w} b${b} e${i}`, user: `writer-${w}`, idempotencyKey: `fault-${w}-${b}-${i}` }));
        for (let attempt = 0; ; attempt++) {
          if (attempt > 300) throw new Error(`batch ${w}/${b} never got through`);
          let body: Body;
          try {
            body = await post(events);
          } catch (error) {
            unexpected.push(String(error));
            continue;
          }
          if (body.data?.logBatch) {
            acked++;
            break;
          }
          const code = String(body.errors?.[0]?.extensions?.code);
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (code !== 'DATABASE_UNAVAILABLE') unexpected.push(body.errors);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const writing = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    while (acked < 6) await new Promise((r) => setTimeout(r, 5));
    pg.stop();
    const down = await fetch(`${base}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'not ready', database: 'unavailable' });
    await new Promise((r) => setTimeout(r, 1000));
    pg.start();
    await writing;

    expect(unexpected).toEqual([]);
    expect(codes.get('DATABASE_UNAVAILABLE') ?? 0).toBeGreaterThan(0);
    const [stored] = await server.rows<{ events: number; keys: number }>(
      sql`select count(*)::int as events, count(distinct idempotency_key)::int as keys from events where idempotency_key like 'fault-%'`,
    );
    expect(stored).toEqual({ events: total, keys: total });

    // Recovered without a restart.
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);

    // The subscription opened before the outage saw every stored event exactly once…
    const seen = await before.waitFor(total);
    const ids = seen.map((m) => (m.data as { events: { id: string } }).events.id);
    expect(ids.length).toBe(total);
    expect(new Set(ids).size).toBe(total);
    before.unsubscribe();

    // …and a new one works too.
    await untilSubscribed(server, 0);
    const after = subscribe(server.wsClient(), `subscription { events(filter: { types: ["after-recovery"] }) { type message } }`);
    await untilSubscribed(server, 1);
    expect((await post([{ type: 'after-recovery', message: 'back' }])).data?.logBatch?.recorded).toBe(1);
    const [message] = await after.waitFor(1);
    expect(message!.data).toEqual({ events: { type: 'after-recovery', message: 'back' } });
    after.unsubscribe();
  });
});
