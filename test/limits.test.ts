import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    MAX_DEPTH: '4',
    MAX_COST: '60',
    MAX_ALIASES: '2',
    MAX_TOKENS: '120',
    MAX_DIRECTIVES: '2',
    MAX_BODY_BYTES: '4096',
    MAX_SUBSCRIPTIONS_PER_SOCKET: '2',
    WRITE_RATE_LIMIT: '1',
    WRITE_RATE_BURST: '5',
    MAX_PAGE_SIZE: '10',
    MAX_BATCH_SIZE: '3',
  });
});
afterAll(() => server?.stop());

const codes = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => (res.errors ?? []).map((e) => e.extensions?.code);

describe('operation limits', () => {
  it('lets an ordinary query through', async () => {
    const res = await server.gql(`{ eventTypes(category: "audit") { name category } }`);
    expect(res.errors).toBeUndefined();
  });

  it('refuses a query deeper than MAX_DEPTH with QUERY_TOO_DEEP', async () => {
    const res = await server.gql(`{ user(login: "a") { activity { nodes { parameters { entity { name } } } } } }`);
    expect(codes(res)).toContain('QUERY_TOO_DEEP');
    expect(res.data ?? null).toBeNull();
  });

  it('refuses a query costing more than MAX_COST with QUERY_TOO_COSTLY', async () => {
    // A literal `first` multiplies the cost of what is under it (graphql-armor's cost model).
    expect(codes(await server.gql(`{ events(first: 2) { nodes { id type } } }`))).toEqual([]);
    const res = await server.gql(`{ events(first: 10) { nodes { id type category isError occurredAt recordedAt user message } } }`);
    expect(codes(res)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('refuses more than MAX_ALIASES aliases with QUERY_TOO_MANY_ALIASES', async () => {
    const res = await server.gql(`{ a: eventTypes { name } b: eventTypes { name } c: eventTypes { name } }`);
    expect(codes(res)).toContain('QUERY_TOO_MANY_ALIASES');
  });

  it('refuses more than MAX_TOKENS tokens with QUERY_TOO_MANY_TOKENS', async () => {
    const res = await server.gql(`{ eventTypes { ${'name '.repeat(150)} } }`);
    expect(codes(res)).toEqual(['QUERY_TOO_MANY_TOKENS']);
  });

  it('refuses more than MAX_DIRECTIVES directives with QUERY_TOO_MANY_DIRECTIVES', async () => {
    const res = await server.gql(`{ eventTypes @include(if: true) { name @include(if: true) category @skip(if: false) } }`);
    expect(codes(res)).toEqual(['QUERY_TOO_MANY_DIRECTIVES']);
  });

  it('refuses a body over MAX_BODY_BYTES with 413 and REQUEST_TOO_LARGE', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: JSON.stringify({ query: `{ eventTypes { name } }`, variables: { padding: 'x'.repeat(5000) } }),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions).toMatchObject({ code: 'REQUEST_TOO_LARGE', limit: 4096 });
  });

  it('refuses a page over MAX_PAGE_SIZE and a batch over MAX_BATCH_SIZE', async () => {
    expect(codes(await server.gql(`query($first: Int) { events(first: $first) { nodes { id } } }`, { first: 11 }))).toEqual(['PAGE_TOO_LARGE']);
    const batch = await server.gql(`mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`, {
      events: [{ message: '1' }, { message: '2' }, { message: '3' }, { message: '4' }],
    });
    expect(codes(batch)).toEqual(['BATCH_TOO_LARGE']);
  });
});

describe('subscriptions per socket', () => {
  it('refuses a subscription past MAX_SUBSCRIPTIONS_PER_SOCKET with TOO_MANY_SUBSCRIPTIONS, and frees the slot on completion', async () => {
    const client = server.wsClient();
    const before = server.services.fanout.subscribers;
    const first = subscribe(client, `subscription { events { id } }`);
    const second = subscribe(client, `subscription { errors { id } }`);
    await untilSubscribed(server, before + 2);
    const third = subscribe(client, `subscription { events { id } }`);
    await third.waitFor(1, 5_000).catch(() => undefined);
    expect(third.completed).toBe(true);
    expect((third.failure as Array<{ extensions: { code: string } }>)[0]!.extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    first.unsubscribe();
    await untilSubscribed(server, before + 1);
    const fourth = subscribe(client, `subscription { events { id } }`);
    await untilSubscribed(server, before + 2);
    expect(fourth.failure).toBeNull();
    second.unsubscribe();
    fourth.unsubscribe();
    await untilSubscribed(server, before);
  });
});

describe('write rate limit', () => {
  it('refuses a credential’s writes past its burst with RATE_LIMITED, and not another credential’s', async () => {
    const created = await server.gql(`mutation { a: createApiKey(input: { name: "w1", scopes: [AUDIT_WRITE] }) { key } b: createApiKey(input: { name: "w2", scopes: [AUDIT_WRITE] }) { key } }`);
    const [one, two] = [created.data.a.key, created.data.b.key];
    const log = `mutation { log(input: { message: "rate" }) { recorded } }`;
    // Sent together: the burst (5) passes, plus at most one more per second that the sending took.
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => server.as(one).gql(log)));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const outcomes = results.map((res) => (res.errors ? res.errors[0]!.extensions!.code : res.data.log.recorded));
    const passed = outcomes.filter((o) => o === true).length;
    expect(passed).toBeGreaterThanOrEqual(5);
    expect(passed).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds));
    expect(outcomes.filter((o) => o !== true).every((o) => o === 'RATE_LIMITED')).toBe(true);
    expect(outcomes).toContain('RATE_LIMITED');
    const limited = await server.as(one).gql(log);
    expect(limited.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
    expect((await server.as(two).gql(log)).data.log.recorded).toBe(true);
  });
});
