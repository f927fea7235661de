import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedEventsAfter } from '../src/history/committed-feed.js';
import postgres from 'postgres';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

describe('committed feed', () => {
  it('reads every committed event once, in commit order, page by page', async () => {
    const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const res = await server.gql(LOG_BATCH, { events: Array.from({ length: 7 }, (_, i) => ({ message: `${batch}/${i}` })) });
      ids.push(...res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
    }
    const seen: string[] = [];
    let after = null;
    for (let page = 0; page < 20; page++) {
      const { events, last } = await committedEventsAfter(server.services.db, after, 4);
      if (events.length === 0) break;
      seen.push(...events.map((e) => e.id));
      after = last;
    }
    expect(seen).toEqual(ids);
    const messages = (await committedEventsAfter(server.services.db, null, 3)).events.map((e) => e.description);
    expect(messages).toEqual(['0/0', '0/1', '0/2']);
  });
});

// Needs two connections at once, which only a real PostgreSQL has (PGlite is one connection).
describe.skipIf(!process.env.DATABASE_URL)('committed feed with a transaction still open', () => {
  it('holds back later transactions until an older one finishes, so none is skipped', async () => {
    const start = (await committedEventsAfter(server.services.db, null, 10_000)).last;
    // An older transaction takes its id first and commits last.
    const [row] = await server.rows<{ name: string }>(sql`select current_database() as name`);
    const dbUrl = new URL(process.env.DATABASE_URL!);
    dbUrl.pathname = `/${row!.name}`;
    const other = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    const reserved = await other.reserve();
    await reserved`begin`;
    await reserved`select pg_current_xact_id()`;
    await server.gql(`mutation { log(input: { message: "younger" }) { recorded } }`);
    expect((await committedEventsAfter(server.services.db, start, 100)).events).toEqual([]);
    await reserved`commit`;
    const after = await committedEventsAfter(server.services.db, start, 100);
    expect(after.events.map((e) => e.description)).toEqual(['younger']);
    reserved.release();
    await other.end();
  });
});
