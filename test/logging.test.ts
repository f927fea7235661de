import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MAX_BATCH_SIZE: '50' });
});
afterAll(() => server?.stop());

const LOG = `mutation($input: LogInput!) { log(input: $input) { recorded duplicate event { id type category user message isError fingerprint source durationMs occurredAt params parameters { name value entity { type id name } } } } }`;
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates results { recorded duplicate event { id type } } } }`;

async function counts() {
  const [row] = await server.rows<{ events: number; values: number; users: number; entities: number; types: number }>(sql`
    select (select count(*) from events)::int as events, (select count(*) from event_parameter_values)::int as values,
           (select count(*) from users)::int as users, (select count(*) from entities)::int as entities,
           (select count(*) from event_types)::int as types`);
  return row!;
}

describe('log', () => {
  it('stores an event with plain and entity parameters and defaults its type to log', async () => {
    const res = await server.gql(LOG, {
      input: {
        message: 'Opened the sales dashboard',
        user: 'alice',
        source: 'UI',
        durationMs: 12.5,
        parameters: { dashboard: { type: 'project', id: 'p-1', name: 'Sales' }, rows: 120, tags: ['a', 'b'], note: null },
      },
    });
    expect(res.errors).toBeUndefined();
    const { recorded, duplicate, event } = res.data.log;
    expect(recorded).toBe(true);
    expect(duplicate).toBe(false);
    expect(event).toMatchObject({ type: 'log', category: 'log', user: 'alice', source: 'UI', durationMs: 12.5, isError: false, fingerprint: null });
    expect(event.params).toEqual({ dashboard: { type: 'project', id: 'p-1', name: 'Sales' }, rows: '120', tags: '["a","b"]', note: null });
    const stored = await server.gql(`query($id: ID!) { event(id: $id) { id type user message params } }`, { id: event.id });
    expect(stored.data.event).toEqual({ id: event.id, type: 'log', user: 'alice', message: 'Opened the sales dashboard', params: event.params });
    // The answer lists parameters in the order every read gives them: by name.
    expect(event.parameters.map((p: { name: string }) => p.name)).toEqual(['dashboard', 'note', 'rows', 'tags']);
    const read = await server.gql(`query($id: ID!) { event(id: $id) { parameters { name value } } }`, { id: event.id });
    expect(read.data.event.parameters.map((p: { name: string }) => p.name)).toEqual(['dashboard', 'note', 'rows', 'tags']);
    const [entity] = await server.rows<{ name: string }>(sql`select name from entities where type = 'project' and external_id = 'p-1'`);
    expect(entity?.name).toBe('Sales');
  });

  it('creates a custom type on first use and lists it in eventTypes', async () => {
    const res = await server.gql(LOG, { input: { type: 'my_log', message: 'custom' } });
    expect(res.data.log.event).toMatchObject({ type: 'my_log', category: 'custom' });
    const types = await server.gql(`{ eventTypes { name category builtin standard isError } }`);
    const names = types.data.eventTypes.map((t: { name: string }) => t.name);
    expect(names).toContain('my_log');
    for (const builtin of ['query-created', 'main-menu-item-click', 'package-tested', 'error', 'resource.update', 'suggestion.approve', 'login', 'failed-login', 'session-timeout']) {
      expect(names).toContain(builtin);
    }
    expect(types.data.eventTypes.find((t: { name: string }) => t.name === 'error')).toMatchObject({ isError: true, builtin: true, category: 'error' });
  });

  it('fingerprints errors so the same fault from different builds groups together', async () => {
    const trace = (build: string, line: number) =>
      `TypeError: x is undefined\n    at render (https://app.example.com/main.${build}.js:${line}:17)\n    at update (https://app.example.com/vendor.${build}.js:${line + 3}:2)`;
    const a = await server.gql(LOG, { input: { type: 'error', message: 'x is undefined', stackTrace: trace('3f9a2c1b', 10), user: 'alice' } });
    const b = await server.gql(LOG, { input: { type: 'error', message: 'x is undefined', parameters: { stackTrace: trace('77aa01ff', 99) }, user: 'bob' } });
    const c = await server.gql(LOG, { input: { type: 'error', message: 'y is null', stackTrace: 'TypeError: y is null\n    at other (https://app.example.com/main.3f9a2c1b.js:5:1)' } });
    expect(a.data.log.event.isError).toBe(true);
    expect(a.data.log.event.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(b.data.log.event.fingerprint).toBe(a.data.log.event.fingerprint);
    expect(c.data.log.event.fingerprint).not.toBe(a.data.log.event.fingerprint);
  });
});

describe('logBatch', () => {
  it('stores a batch in one call and answers per event, in order', async () => {
    const before = await counts();
    const events = Array.from({ length: 20 }, (_, i) => ({ type: i % 2 ? 'query-start' : 'query-edited', user: `u${i % 3}`, parameters: { query: { type: 'query', id: `q${i % 4}` }, i } }));
    const res = await server.gql(LOG_BATCH, { events });
    expect(res.errors).toBeUndefined();
    expect(res.data.logBatch.recorded).toBe(20);
    expect(res.data.logBatch.results.map((r: any) => r.event.type)).toEqual(events.map((e) => e.type));
    const after = await counts();
    expect(after.events - before.events).toBe(20);
    expect(after.values - before.values).toBe(40);
  });

  it('stores an event once when the same batch with idempotency keys is sent twice', async () => {
    const events = [
      { type: 'job-start', idempotencyKey: 'k-1', message: 'one' },
      { type: 'job-start', idempotencyKey: 'k-2', message: 'two' },
      { type: 'job-start', idempotencyKey: 'k-1', message: 'one again, same batch' },
    ];
    const first = await server.gql(LOG_BATCH, { events });
    expect(first.data.logBatch).toMatchObject({ recorded: 2, duplicates: 1 });
    const ids = first.data.logBatch.results.map((r: any) => r.event.id);
    expect(ids[2]).toBe(ids[0]);
    const before = await counts();
    const second = await server.gql(LOG_BATCH, { events });
    expect(second.data.logBatch).toMatchObject({ recorded: 0, duplicates: 3 });
    expect(second.data.logBatch.results.map((r: any) => r.event.id)).toEqual(ids);
    expect((await counts()).events).toBe(before.events);
    const single = await server.gql(LOG, { input: { type: 'job-start', idempotencyKey: 'k-2' } });
    expect(single.data.log).toMatchObject({ recorded: true, duplicate: true, event: { id: ids[1], message: 'two' } });
    const [row] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where idempotency_key in ('k-1', 'k-2')`);
    expect(row!.n).toBe(2);
  });
});

describe('bad input', () => {
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    ['a type that is not a slug', LOG, { input: { type: 'Not A Slug!' } }, 'INVALID_EVENT_TYPE'],
    ['parameters that are not an object', LOG, { input: { parameters: [1, 2, 3] } }, 'INVALID_PARAMETERS'],
    ['parameters that are a string', LOG, { input: { parameters: 'x=1' } }, 'INVALID_PARAMETERS'],
    ['a time far in the future', LOG, { input: { occurredAt: '2999-01-01T00:00:00Z' } }, 'TIMESTAMP_IN_FUTURE'],
    ['a message over the limit', LOG, { input: { message: 'x'.repeat(10_001) } }, 'VALUE_TOO_LONG'],
    ['a parameter value over the limit', LOG, { input: { parameters: { big: 'x'.repeat(10_001) } } }, 'VALUE_TOO_LONG'],
    ['a negative duration', LOG, { input: { durationMs: -1 } }, 'BAD_USER_INPUT'],
    ['an entity of a bad type', LOG, { input: { parameters: { e: { type: 'Bad Type', id: '1' } } } }, 'INVALID_EVENT_TYPE'],
    ['an unknown session', LOG, { input: { sessionId: '00000000-0000-4000-8000-000000000000' } }, 'UNKNOWN_SESSION'],
    ['a malformed time', LOG, { input: { occurredAt: 'yesterday' } }, 'BAD_USER_INPUT'],
    ['an unknown argument field', LOG, { input: { colour: 'red' } }, 'BAD_USER_INPUT'],
    ['more than the batch limit', LOG_BATCH, { events: Array.from({ length: 51 }, () => ({ message: 'x' })) }, 'BATCH_TOO_LARGE'],
    ['one bad event in a batch', LOG_BATCH, { events: [{ message: 'fine', user: 'ok' }, { type: 'BAD TYPE' }] }, 'INVALID_EVENT_TYPE'],
    ['a NUL character in a message', LOG, { input: { message: 'a\u0000b' } }, 'BAD_USER_INPUT'],
    ['a NUL character in an entity id', LOG, { input: { parameters: { q: { type: 'query', id: 'x\u0000' } } } }, 'BAD_USER_INPUT'],
    ['a NUL character in a parameter name', LOG, { input: { parameters: { 'k\u0000': 1 } } }, 'BAD_USER_INPUT'],
    ['an unpaired surrogate in a batch', LOG_BATCH, { events: [{ message: 'fine' }, { message: 'half \ud83d of a pair' }] }, 'BAD_USER_INPUT'],
    ['a type only the service records', LOG, { input: { type: 'access-denied', message: 'forged' } }, 'RESERVED_EVENT_TYPE'],
    ['a reserved type in a batch', LOG_BATCH, { events: [{ message: 'fine' }, { type: 'retention-month-dropped' }] }, 'RESERVED_EVENT_TYPE'],
  ];
  it.each(cases)('rejects %s with a stable code and writes nothing', async (_name, query, variables, code) => {
    const before = await counts();
    const res = await server.gql(query, variables);
    expect(res.data?.log ?? res.data?.logBatch ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
    expect(await counts()).toEqual(before);
  });

  it('names the reserved type and where it is, and still records the service’s own events of that type', async () => {
    const res = await server.gql(LOG_BATCH, { events: [{ message: 'fine' }, { message: 'fine' }, { type: 'audit-log-viewed' }] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'RESERVED_EVENT_TYPE', index: 2, field: 'events[2].type' });
    // Refused administrative calls are recorded by the service as access-denied, a reserved type.
    const before = await server.rows<{ n: number }>(sql`select count(*)::int as n from events e join event_types t on t.id = e.event_type_id where t.name = 'access-denied'`);
    const refused = await server.gql(`{ apiKeys { id } }`, {}, { Authorization: '' });
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    for (let i = 0; i < 100; i++) {
      const after = await server.rows<{ n: number }>(sql`select count(*)::int as n from events e join event_types t on t.id = e.event_type_id where t.name = 'access-denied'`);
      if (after[0]!.n > before[0]!.n) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the refusal was not recorded as access-denied');
  });

  it('names the event and the field of a bad batch entry', async () => {
    const res = await server.gql(LOG_BATCH, { events: [{ message: 'fine' }, { message: 'fine' }, { type: 'error', occurredAt: '2999-01-01T00:00:00Z' }] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'TIMESTAMP_IN_FUTURE', index: 2, field: 'occurredAt' });
    expect(res.errors?.[0]?.message).toMatch(/^events\[2\]\.occurredAt/);
  });

  it('says where text that PostgreSQL cannot store is, in variables, in the document and in reads', async () => {
    const before = await counts();
    const inVariables = await server.gql(LOG_BATCH, { events: [{ message: 'fine' }, { parameters: { note: 'x\u0000' } }] });
    expect(inVariables.errors?.[0]?.message).toBe('variables.events[1].parameters.note contains U+0000 (NUL), which cannot be stored.');
    const inDocument = await server.gql(`mutation { log(input: { message: "a\\u0000b" }) { recorded } }`);
    expect(inDocument.errors?.[0]).toMatchObject({ message: 'A string in the query contains U+0000 (NUL), which cannot be stored.', extensions: { code: 'BAD_USER_INPUT' } });
    const inRead = await server.gql(`query($u: String) { events(filter: { user: $u }) { nodes { id } } }`, { u: 'al\u0000ice' });
    expect(inRead.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('stores text with quotes, backslashes, braces, commas, newlines and NULL-looking words exactly', async () => {
    const tricky = ['say "hi"', 'C:\\temp\\new', '{a,b}', 'a,b', 'line 1\nline 2\ttab', 'NULL', 'null', '', ' padded ', '💥 ünïcode', '\\"'];
    const events = tricky.map((text, i) => ({ message: text, user: `tricky-${i}`, parameters: { text, entity: { type: 'query', id: text || 'empty', name: text } } }));
    const res = await server.gql(`mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`, { events });
    expect(res.errors).toBeUndefined();
    const ids = res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
    for (const [i, text] of tricky.entries()) {
      const read = await server.gql(`query($id: ID!) { event(id: $id) { message user params } }`, { id: ids[i] });
      expect(read.data.event).toEqual({ message: text, user: `tricky-${i}`, params: { text, entity: { type: 'query', id: text || 'empty', name: text } } });
    }
  });

  it('rejects an unknown field in a query document at validation', async () => {
    const res = await server.gql(`{ events { nodes { nope } } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
