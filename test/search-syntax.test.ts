import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let sessionId = '';
beforeAll(async () => {
  server = await startTestServer();
  sessionId = (await server.gql(`mutation { startSession(input: { user: "carol" }) { id } }`)).data.startSession.id;
  const events = [
    { type: 'query-start', user: 'alice', source: 'UI', occurredAt: '2025-12-31T12:00:00Z', message: 'ran the sales query', parameters: { query: { type: 'query', id: '42' } } },
    { type: 'query-edited', user: 'alice', source: 'API', occurredAt: '2026-01-02T12:00:00Z', message: 'edited the free text search', parameters: { query: { type: 'query', id: '42' } } },
    { type: 'script-start', user: 'bob', source: 'UI', occurredAt: '2026-01-03T12:00:00Z', message: 'free text in a script' },
    { type: 'error', user: 'bob', source: 'SERVER', occurredAt: '2026-01-04T12:00:00Z', message: 'query failed: free text', parameters: { query: { type: 'query', id: '7' } } },
    { type: 'query-created', sessionId, source: 'CLIENT', occurredAt: '2026-01-05T12:00:00Z', message: 'a new query' },
  ];
  const res = await server.gql(`mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`, { events });
  expect(res.errors).toBeUndefined();
});
afterAll(() => server?.stop());

const EVENTS = `query($q: String, $f: EventFilter) { events(query: $q, filter: $f) { nodes { type user message } } }`;

async function messages(q: string, f?: unknown): Promise<string[]> {
  const res = await server.gql(EVENTS, { q, f });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data.events.nodes.map((n: any) => n.message);
}

async function failure(q: string, f?: unknown) {
  const res = await server.gql(EVENTS, { q, f });
  expect(res.data).toBeNull();
  return res.errors![0]!;
}

describe('search syntax', () => {
  it('type: names, wildcards and lists', async () => {
    expect(await messages('type:query-*')).toEqual(['a new query', 'edited the free text search', 'ran the sales query']);
    expect(await messages('type:query-start')).toEqual(['ran the sales query']);
    expect(await messages('type:*-start')).toEqual(['free text in a script', 'ran the sales query']);
    expect(await messages('type:error,script-start')).toEqual(['query failed: free text', 'free text in a script']);
  });

  it('user:, group:, entity:, session:, source:, category:', async () => {
    expect(await messages('user:alice')).toEqual(['edited the free text search', 'ran the sales query']);
    expect(await messages('group:nobody')).toEqual([]);
    expect(await messages('entity:query/42')).toEqual(['edited the free text search', 'ran the sales query']);
    expect(await messages(`session:${sessionId} type:query-created`)).toEqual(['a new query']);
    expect(await messages('source:ui')).toEqual(['free text in a script', 'ran the sales query']);
    expect(await messages('source:api,server')).toEqual(['query failed: free text', 'edited the free text search']);
    expect(await messages('category:script')).toEqual(['free text in a script']);
  });

  it('since: (inclusive) and until: (exclusive), as dates or times', async () => {
    expect(await messages('since:2026-01-01 until:2026-01-04')).toEqual(['free text in a script', 'edited the free text search']);
    expect(await messages('since:2026-01-04T12:00:00Z type:error')).toEqual(['query failed: free text']);
    expect(await messages('until:2026-01-01')).toEqual(['ran the sales query']);
  });

  it('error:true and error:false', async () => {
    expect(await messages('error:true')).toEqual(['query failed: free text']);
    expect((await messages('error:false')).length).toBeGreaterThanOrEqual(4);
    expect(await messages('error:false')).not.toContain('query failed: free text');
  });

  it('free text: quoted phrases and bare words must all appear; keys combine', async () => {
    expect(await messages('"free text"')).toEqual(['query failed: free text', 'free text in a script', 'edited the free text search']);
    expect(await messages('"free text" script')).toEqual(['free text in a script']);
    expect(await messages('type:query-* user:alice entity:query/42 source:ui since:2025-01-01 error:false "sales"')).toEqual(['ran the sales query']);
    expect(await messages('user:"alice"')).toEqual(['edited the free text search', 'ran the sales query']);
    expect(await messages('USER:bob TYPE:error')).toEqual(['query failed: free text']);
  });

  it('combines with the filter argument, and refuses a condition set in both', async () => {
    expect(await messages('type:query-*', { user: 'alice' })).toEqual(['edited the free text search', 'ran the sales query']);
    const both = await failure('user:bob', { user: 'alice' });
    expect(both.extensions?.code).toBe('INVALID_QUERY');
  });

  it('names the position of every parse error', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['colour:red', 0, /unknown key "colour"/],
      ['user:alice  typo:x', 12, /unknown key "typo"/],
      ['user:', 5, /needs a value/],
      ['user: alice', 5, /needs a value/],
      ['"free text', 0, /never closed/],
      ['user:"al ice', 5, /never closed/],
      ['since:yesterday', 6, /not a date/],
      ['until:2026-13-45', 6, /not a date/],
      ['error:maybe', 6, /true or false/],
      ['source:web', 7, /not a source/],
      ['entity:query', 7, /type\/id/],
      ['session:abc', 8, /not a session id/],
      ['type:Query!', 5, /not an event type name/],
      ['type:a,,b', 7, /empty item/],
      ['user:a user:b', 7, /given twice/],
      ['ab"cd', 2, /quote inside a word/],
    ];
    for (const [q, position, message] of cases) {
      const error = await failure(q);
      expect(error.extensions?.code, q).toBe('INVALID_QUERY');
      expect(error.extensions?.position, q).toBe(position);
      expect(error.message, q).toMatch(message);
    }
  });
});
