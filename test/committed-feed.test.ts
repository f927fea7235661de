import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/audit/model.js';
import { committedEventsAfter, type FeedPosition } from '../src/history/committed-feed.js';
import postgres from 'postgres';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

/**
 * Every committed event after `after`, read page by page, again until `done` holds or 20 s
 * passed: the transaction that stored the events (or an audit event of the server's own) may still
 * be finishing when the read starts.
 */
async function readFeed(after: FeedPosition | null, pageSize: number, done: (ids: string[]) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events: Awaited<ReturnType<typeof committedEventsAfter>>['events'] = [];
    let cursor = after;
    for (let page = 0; page < 1000; page++) {
      const result = await committedEventsAfter(server.services.db, cursor, pageSize);
      if (result.events.length === 0) break;
      events.push(...result.events);
      cursor = result.last;
    }
    if (done(events.map((e) => e.id)) || Date.now() > deadline) return { events, last: cursor };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('committed feed', () => {
  it('reads every committed event once, in commit order, page by page', async () => {
    const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const res = await server.gql(LOG_BATCH, { events: Array.from({ length: 7 }, (_, i) => ({ message: `${batch}/${i}` })) });
      ids.push(...res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
    }
    const seen = (await readFeed(null, 4, (seenIds) => seenIds.length >= ids.length)).events.map((e) => e.id);
    expect(seen).toEqual(ids);
    const messages = (await committedEventsAfter(server.services.db, null, 3)).events.map((e) => e.description);
    expect(messages).toEqual(['0/0', '0/1', '0/2']);
  });

  it('takes the events the caller already has from memory, in their commit order, shaped as read, and loads the others', async () => {
    const { last: start } = await readFeed(null, 1000, () => true);
    const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
    const ids: string[] = [];
    for (const batch of ['x', 'y']) {
      const res = await server.gql(LOG_BATCH, { events: Array.from({ length: 3 }, (_, i) => ({ message: `${batch}${i}`, parameters: { b: 'two', a: 'one' } })) });
      ids.push(...res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
    }
    const stored = (await readFeed(start, 100, (seen) => seen.length >= 6)).events;
    expect(stored.map((e) => e.id)).toEqual(ids);
    expect(stored[1]!.parameters.map((p) => p.name)).toEqual(['a', 'b']);
    // Marked copies: what comes back for these ids is what the caller had, not a reload.
    const mark = (event: AuditEvent): AuditEvent => ({ ...event, description: `${event.description} from memory`, errorGroupStatus: 'OPEN' });
    const known = new Map([stored[1]!, stored[3]!].map((event) => [event.id, mark(event)]));
    const { events } = await committedEventsAfter(server.services.db, start, 100, known);
    expect(events.map((e) => e.description)).toEqual(['x0', 'x1 from memory', 'x2', 'y0 from memory', 'y1', 'y2']);
    expect(events[1]!.parameters.map((p) => p.name)).toEqual(['a', 'b']);
    expect(events[1]).not.toHaveProperty('errorGroupStatus');
    expect({ ...events[1], description: 'x1' }).toEqual(stored[1]);
  });
});

// Needs two connections at once, which only a real PostgreSQL has (PGlite is one connection).
describe.skipIf(!process.env.DATABASE_URL)('committed feed with a transaction still open', () => {
  it('holds back later transactions until an older one finishes, so none is skipped', async () => {
    const [{ n }] = (await server.rows<{ n: number }>(sql`select count(*)::int as n from events`)) as [{ n: number }];
    const start = (await readFeed(null, 1000, (seenIds) => seenIds.length >= n)).last;
    // An older transaction takes its id first and commits last.
    const [row] = await server.rows<{ name: string }>(sql`select current_database() as name`);
    const dbUrl = new URL(process.env.DATABASE_URL!);
    dbUrl.pathname = `/${row!.name}`;
    const other = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    const reserved = await other.reserve();
    await reserved`begin`;
    await reserved`select pg_current_xact_id()`;
    const younger = await server.gql(`mutation { log(input: { message: "younger" }) { event { id } } }`);
    expect((await committedEventsAfter(server.services.db, start, 100)).events).toEqual([]);
    // Having the event in memory does not get it past the horizon either.
    const id = younger.data.log.event.id as string;
    const known = new Map([[id, { id, position: { txId: '0', id }, description: 'younger', parameters: [] } as unknown as AuditEvent]]);
    expect((await committedEventsAfter(server.services.db, start, 100, known)).events).toEqual([]);
    await reserved`commit`;
    const after = await readFeed(start, 100, (seenIds) => seenIds.length > 0);
    expect(after.events.map((e) => e.description)).toEqual(['younger']);
    reserved.release();
    await other.end();
  });

  // Another database of the same cluster exists only on a real PostgreSQL.
  it.skipIf(!process.env.DATABASE_URL)('is not held back by a transaction open in another database of the cluster', async () => {
    const [{ n }] = (await server.rows<{ n: number }>(sql`select count(*)::int as n from events`)) as [{ n: number }];
    const start = (await readFeed(null, 1000, (seenIds) => seenIds.length >= n)).last;
    // A transaction with an id, left open in the cluster's postgres database.
    const neighbour = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    const reserved = await neighbour.reserve();
    await reserved`begin`;
    await reserved`select pg_current_xact_id()`;
    try {
      const logged = await server.gql(`mutation { log(input: { message: "next door is busy" }) { event { id } } }`);
      // Read once or twice (the storing transaction itself must end first), never waiting for the neighbour.
      const after = await readFeed(start, 100, (seenIds) => seenIds.includes(logged.data.log.event.id));
      expect(after.events.map((e) => e.description)).toEqual(['next door is busy']);
    } finally {
      await reserved`rollback`;
      reserved.release();
      await neighbour.end();
    }
  });
});
