import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer();
  b = await a.startSecondInstance();
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded results { event { id } } } }`;
const EVENTS = `subscription($after: String) { events(filter: { types: ["job-start"] }, after: $after) { id message feedCursor } }`;

const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ type: 'job-start', message: `${prefix}${i}` }));

describe('several instances on one database', () => {
  it('every subscriber, on either instance, gets every event exactly once and in the same order', async () => {
    const onA = subscribe(a.wsClient(), EVENTS);
    const onB = subscribe(b.wsClient(), EVENTS);
    await untilSubscribed(a, 1);
    await untilSubscribed(b, 1);
    const ids: string[] = [];
    // Interleaved, concurrent writes through both instances.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).gql(LOG_BATCH, { events: batch(`w${i}-`, 10) })),
    );
    for (const res of results) ids.push(...res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
    await onA.waitFor(100);
    await onB.waitFor(100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const gotA = onA.received.map((m) => m.data.events.id);
    const gotB = onB.received.map((m) => m.data.events.id);
    expect(gotA.length).toBe(100);
    expect(new Set(gotA)).toEqual(new Set(ids));
    expect(gotB).toEqual(gotA);
    onA.unsubscribe();
    onB.unsubscribe();
    await untilSubscribed(a, 0);
    await untilSubscribed(b, 0);
  });

  it('an event reaches subscribers on every instance with the same payload, from memory where it was stored and read back elsewhere', async () => {
    const query = `subscription { events(filter: { types: ["job-edited"] }) { id type message user source params parameters { name value entity { type id name } } fingerprint errorGroupStatus } }`;
    const onA = subscribe(a.wsClient(), query);
    const onB = subscribe(b.wsClient(), query);
    await untilSubscribed(a, 1);
    await untilSubscribed(b, 1);
    const parameters = { zeta: 3, alpha: [{ type: 'job', id: 'j2', name: 'Second' }, { type: 'job', id: 'j1' }], mid: 'text' };
    await a.gql(LOG_BATCH, { events: [{ type: 'job-edited', message: 'stored on a', user: 'ann', source: 'UI', parameters }] });
    await b.gql(LOG_BATCH, { events: [{ type: 'job-edited', message: 'stored on b', user: 'ben', parameters }] });
    const [fromA, fromB] = [await onA.waitFor(2), await onB.waitFor(2)];
    expect(fromB).toEqual(fromA);
    expect(fromA.map((m) => m.data.events.message)).toEqual(['stored on a', 'stored on b']);
    expect(fromA[0]!.data.events.parameters.map((p: { name: string; value: string }) => `${p.name}=${p.value}`)).toEqual(['alpha=j2', 'alpha=j1', 'mid=text', 'zeta=3']);
    onA.unsubscribe();
    onB.unsubscribe();
    await untilSubscribed(a, 0);
    await untilSubscribed(b, 0);
  });

  it('a subscriber that misses 1,000 events resumes with its cursor, on a new instance, and gets exactly those and then the live ones', async () => {
    const first = subscribe(a.wsClient(), EVENTS);
    await untilSubscribed(a, 1);
    await a.gql(LOG_BATCH, { events: batch('before-', 3) });
    const seen = await first.waitFor(3);
    const cursor = seen[2]!.data.events.feedCursor as string;
    first.unsubscribe();
    await untilSubscribed(a, 0);

    const missed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await b.gql(LOG_BATCH, { events: batch(`missed${i}-`, 200) });
      missed.push(...res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
    }
    // A server started after the events were stored: the replay comes from the database.
    const c = await a.startSecondInstance();
    try {
      const resumed = subscribe(c.wsClient(), EVENTS, { after: cursor });
      await resumed.waitFor(1000, 20_000);
      await untilSubscribed(c, 1);
      const live = await a.gql(LOG_BATCH, { events: batch('live-', 5) });
      const liveIds = live.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
      await resumed.waitFor(1005, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const got = resumed.received.map((m) => m.data.events.id);
      expect(got.length).toBe(1005);
      expect(got.slice(0, 1000)).toEqual(missed);
      expect(got.slice(1000)).toEqual(liveIds);
      resumed.unsubscribe();
    } finally {
      await c.stop();
    }
  });

  it('rejects a cursor it did not give out', async () => {
    const bad = subscribe(a.wsClient(), EVENTS, { after: 'nonsense' });
    await bad.waitFor(1);
    expect(bad.received[0]?.errors?.[0]?.extensions?.code ?? (bad.failure as any)?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
  });
});
