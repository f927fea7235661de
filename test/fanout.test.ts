import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
const ERRORS = `subscription { errors { id message user } }`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Logs `n` errors in one batch and returns their ids (commit order within the batch is id order). */
async function logErrors(on: TestServer, prefix: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const res = await on.gql(LOG_BATCH, { events: Array.from({ length: n }, (_, i) => ({ type: 'error', message: `${prefix}${i}`, ...extra })) });
  expect(res.errors).toBeUndefined();
  return res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
}

async function createKey(name: string, scopes: string[], user?: string): Promise<{ key: string; id: string }> {
  const res = await server.gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id } } }`, { input: { name, scopes, user } });
  return { key: res.data.createApiKey.key, id: res.data.createApiKey.apiKey.id };
}

const ids = (feed: ReturnType<typeof subscribe<any>>, field = 'errors') => feed.received.map((m) => m.data[field].id as string);

describe('subscribers of the same operation share one feed', () => {
  it('gets every event to each of them exactly once, in commit order, with identical payloads, from one source', async () => {
    const feeds = Array.from({ length: 12 }, () => subscribe(server.wsClient(), ERRORS));
    await untilSubscribed(server, 12);
    expect(server.services.fanout.size).toBe(1);
    expect(server.services.bus.size).toBe(1);
    const executions = server.services.fanout.executions;
    const logged: string[] = [];
    for (let i = 0; i < 5; i++) logged.push(...(await logErrors(server, `same${i}-`, 4, { user: 'ann' })));
    for (const feed of feeds) await feed.waitFor(20);
    await sleep(100);
    for (const feed of feeds) {
      expect(ids(feed)).toEqual(logged);
      expect(feed.received).toEqual(feeds[0]!.received);
    }
    expect(feeds[0]!.received[3]).toEqual({ data: { errors: { id: logged[3], message: 'same0-3', user: 'ann' } } });
    expect(server.services.fanout.executions - executions).toBe(20);
    for (const feed of feeds) feed.unsubscribe();
    await untilSubscribed(server, 0);
    expect(server.services.fanout.size).toBe(0);
    expect(server.services.bus.size).toBe(0);
  });

  it('gets a burst larger than one write slice to every subscriber, in order', async () => {
    // 60 subscribers × 200 events: the feed writes it in slices, with turns of the event loop between.
    const feeds = Array.from({ length: 60 }, () => subscribe(server.wsClient(), `subscription { errors { id } }`));
    await untilSubscribed(server, 60);
    const [first, second] = await Promise.all([logErrors(server, 'burst-a-', 100), logErrors(server, 'burst-b-', 100)]);
    for (const feed of feeds) await feed.waitFor(200);
    await sleep(100);
    const order = ids(feeds[0]!);
    expect([...order].sort()).toEqual([...first!, ...second!].sort());
    for (const feed of feeds) expect(ids(feed)).toEqual(order);
    for (const feed of feeds) feed.unsubscribe();
    await untilSubscribed(server, 0);
  });

  it('executes each event once per distinct operation: once for identical subscribers, twice with a second selection', async () => {
    const wide = Array.from({ length: 5 }, () => subscribe(server.wsClient(), ERRORS));
    const narrow = Array.from({ length: 3 }, () => subscribe(server.wsClient(), `subscription { errors { id } }`));
    await untilSubscribed(server, 8);
    expect(server.services.fanout.size).toBe(2);
    expect(server.services.bus.size).toBe(2);
    const executions = server.services.fanout.executions;
    const logged = await logErrors(server, 'twice-', 10);
    for (const feed of [...wide, ...narrow]) await feed.waitFor(10);
    await sleep(100);
    expect(server.services.fanout.executions - executions).toBe(20);
    for (const feed of wide) expect(ids(feed)).toEqual(logged);
    for (const feed of narrow) expect(feed.received).toEqual(logged.map((id) => ({ data: { errors: { id } } })));
    for (const feed of [...wide, ...narrow]) feed.unsubscribe();
    await untilSubscribed(server, 0);
  });

  it('shares a feed only between equal variables: each gets what its own filter matches', async () => {
    const query = `subscription($text: String) { errors(filter: { text: $text }) { message } }`;
    const zz = Array.from({ length: 3 }, () => subscribe(server.wsClient(), query, { text: 'zz' }));
    const yy = Array.from({ length: 2 }, () => subscribe(server.wsClient(), query, { text: 'yy' }));
    await untilSubscribed(server, 5);
    expect(server.services.fanout.size).toBe(2);
    await server.gql(LOG_BATCH, { events: ['zz 1', 'yy 1', 'xx 1', 'zz 2'].map((message) => ({ type: 'error', message })) });
    for (const feed of zz) await feed.waitFor(2);
    for (const feed of yy) await feed.waitFor(1);
    await sleep(100);
    for (const feed of zz) expect(feed.received.map((m) => m.data.errors.message)).toEqual(['zz 1', 'zz 2']);
    for (const feed of yy) expect(feed.received.map((m) => m.data.errors.message)).toEqual(['yy 1']);
    for (const feed of [...zz, ...yy]) feed.unsubscribe();
    await untilSubscribed(server, 0);
  });
});

describe('visibility', () => {
  it('a user-bound key on the same query text sees only its user’s events, on a feed of its own shared with another key of that user', async () => {
    const alice1 = await createKey('alice phone', [], 'alice');
    const alice2 = await createKey('alice laptop', [], 'alice');
    const admin = [subscribe(server.wsClient(), ERRORS), subscribe(server.wsClient(), ERRORS)];
    const alice = [subscribe(server.as(alice1.key).wsClient(), ERRORS), subscribe(server.as(alice2.key).wsClient(), ERRORS)];
    await untilSubscribed(server, 4);
    expect(server.services.fanout.size).toBe(2);
    const bob = await logErrors(server, 'bob-', 2, { user: 'bob' });
    const hers = await logErrors(server, 'alice-', 2, { user: 'alice' });
    for (const feed of admin) await feed.waitFor(4);
    for (const feed of alice) await feed.waitFor(2);
    await sleep(100);
    for (const feed of admin) expect(ids(feed)).toEqual([...bob, ...hers]);
    for (const feed of alice) {
      expect(ids(feed)).toEqual(hers);
      expect(feed.received.every((m) => m.data.errors.user === 'alice')).toBe(true);
    }
    for (const feed of [...admin, ...alice]) feed.unsubscribe();
    await untilSubscribed(server, 0);
  });

  it('audits every viewer-token subscriber as it subscribes, also when it joins an open feed', async () => {
    const minted = await server.gql(`mutation { createViewerToken(entity: { type: "query", id: "fan" }, ttlSeconds: 60) { token } }`);
    const token = minted.data.createViewerToken.token as string;
    const viewed = async () =>
      (await server.rows<{ n: number }>(sql`select count(*)::int as n from events e join event_types t on t.id = e.event_type_id where t.name = 'audit-log-viewed'`))[0]!.n;
    const before = await viewed();
    const query = `subscription { entityActivity(type: "query", id: "fan") { message } }`;
    const feeds = Array.from({ length: 3 }, () => subscribe(server.as(token).wsClient(), query));
    await untilSubscribed(server, 3);
    expect(server.services.fanout.size).toBe(1);
    const deadline = Date.now() + 5_000;
    while ((await viewed()) < before + 3 && Date.now() < deadline) await sleep(20);
    expect(await viewed()).toBe(before + 3);
    await server.gql(`mutation { log(input: { message: "on fan", parameters: { q: { type: "query", id: "fan" } } }) { recorded } }`);
    for (const feed of feeds) expect((await feed.waitFor(1))[0]!.data.entityActivity.message).toBe('on fan');
    for (const feed of feeds) feed.unsubscribe();
    await untilSubscribed(server, 0);
  });
});

describe('members come and go', () => {
  it('one subscriber leaving, or its key being revoked, leaves the others receiving; the feed ends with the last', async () => {
    const one = await createKey('reader one', ['AUDIT_READ']);
    const two = await createKey('reader two', ['AUDIT_READ']);
    const revoked = subscribe(server.as(one.key).wsClient(), ERRORS);
    const leaving = subscribe(server.as(two.key).wsClient(), ERRORS);
    const staying = subscribe(server.as(two.key).wsClient(), ERRORS);
    await untilSubscribed(server, 3);
    expect(server.services.fanout.size).toBe(1);
    const first = await logErrors(server, 'all-', 3);
    for (const feed of [revoked, leaving, staying]) await feed.waitFor(3);

    await server.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: one.id });
    const deadline = Date.now() + 5_000;
    while (!revoked.completed && Date.now() < deadline) await sleep(10);
    expect((revoked.failure as { code?: number } | null)?.code).toBe(4403);
    await untilSubscribed(server, 2);
    const second = await logErrors(server, 'after-revoke-', 3);
    await leaving.waitFor(6);
    leaving.unsubscribe();
    await untilSubscribed(server, 1);
    expect(server.services.fanout.size).toBe(1);
    const third = await logErrors(server, 'after-leave-', 3);
    await staying.waitFor(9);
    await sleep(100);
    expect(ids(revoked)).toEqual(first);
    expect(ids(leaving)).toEqual([...first, ...second]);
    expect(ids(staying)).toEqual([...first, ...second, ...third]);
    expect(staying.completed).toBe(false);
    staying.unsubscribe();
    await untilSubscribed(server, 0);
    expect(server.services.fanout.size).toBe(0);
    expect(server.services.bus.size).toBe(0);
  });

  it('a resumed subscription replays on its own stream, then goes live, with no gap and no duplicate', async () => {
    const query = `subscription($after: String) { errors(after: $after) { id feedCursor } }`;
    const live = [subscribe(server.wsClient(), query), subscribe(server.wsClient(), query)];
    await untilSubscribed(server, 2);
    const logged = await logErrors(server, 'resume-', 4);
    const seen = await live[0]!.waitFor(4);
    const resumed = subscribe(server.wsClient(), query, { after: seen[0]!.data.errors.feedCursor });
    await untilSubscribed(server, 3);
    expect(server.services.fanout.size).toBe(1);
    expect(server.services.bus.size).toBe(2);
    await resumed.waitFor(3);
    const more = await logErrors(server, 'resume-live-', 2);
    await resumed.waitFor(5);
    await live[1]!.waitFor(6);
    await sleep(100);
    expect(ids(resumed)).toEqual([...logged.slice(1), ...more]);
    expect(ids(live[1]!)).toEqual([...logged, ...more]);
    for (const feed of [...live, resumed]) feed.unsubscribe();
    await untilSubscribed(server, 0);
    expect(server.services.bus.size).toBe(0);
  });
});

describe('a subscriber that stops reading', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ SUBSCRIBER_BUFFER: '20' });
  });
  afterAll(() => small?.stop());

  it('is ended alone with SUBSCRIBER_TOO_SLOW after the events it had, while the others get everything', async () => {
    const query = `subscription { errors { id stackTrace } }`;
    const fast = [subscribe(small.wsClient(), query), subscribe(small.wsClient(), query)];
    const slow = await rawSubscriber(small, query);
    await untilSubscribed(small, 3);
    expect(small.services.fanout.size).toBe(1);
    slow.socket.pause();

    // Large events, so that the paused socket's kernel buffers fill and its backlog grows.
    const stackTrace = `Error: big\n${'    at frame (file.js:1:1)\n'.repeat(1_700)}`;
    const logged: string[] = [];
    while (small.services.fanout.subscribers === 3 && logged.length < 2_000) logged.push(...(await logErrors(small, 'big-', 5, { stackTrace })));
    expect(small.services.fanout.subscribers).toBe(2);
    logged.push(...(await logErrors(small, 'after-', 5)));
    for (const feed of fast) await feed.waitFor(logged.length, 30_000);
    await sleep(100);
    for (const feed of fast) expect(ids(feed)).toEqual(logged);
    expect(small.services.fanout.size).toBe(1);

    slow.socket.resume();
    const messages = await slow.untilComplete();
    const events = messages.filter((m) => m.payload?.data?.errors).map((m) => m.payload.data.errors.id);
    expect(events.length).toBeGreaterThan(0);
    expect(events).toEqual(logged.slice(0, events.length));
    expect(messages.slice(events.length).map((m) => [m.type, m.payload?.errors?.[0]?.extensions?.code])).toEqual([
      ['next', 'SUBSCRIBER_TOO_SLOW'],
      ['complete', undefined],
    ]);
    slow.socket.close();
    for (const feed of fast) feed.unsubscribe();
    await untilSubscribed(small, 0);
  });
});

/** A raw graphql-transport-ws client, so that the test can stop reading its socket. */
async function rawSubscriber(on: TestServer, query: string) {
  const socket = new WebSocket(on.wsUrl, 'graphql-transport-ws');
  const messages: any[] = [];
  let complete: () => void = () => {};
  const completed = new Promise<void>((resolve) => (complete = resolve));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${on.adminKey}` } })));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query } }));
        return resolve();
      }
      messages.push(message);
      if (message.type === 'complete' || message.type === 'error') complete();
    });
  });
  return {
    socket,
    async untilComplete(): Promise<any[]> {
      await Promise.race([completed, sleep(30_000).then(() => Promise.reject(new Error(`no complete after ${messages.length} messages`)))]);
      return messages;
    },
  };
}
