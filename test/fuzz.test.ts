import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

// Property-based hunt for crashes: fixed seed and run counts, so a failure reproduces exactly.
const SEED = 20_261_124;
const TIMEOUT_MS = 5000;

let server: TestServer;
let base: string;
beforeAll(async () => {
  server = await startTestServer({ MAX_BATCH_SIZE: '20', MAX_MESSAGE_LENGTH: '2000', MAX_PARAMETER_VALUE_LENGTH: '2000', MAX_STACK_TRACE_LENGTH: '4000' });
  base = server.url.replace(/\/graphql$/, '');
});
afterAll(() => server?.stop());

/** The audit data a rejected write must leave untouched. */
async function snapshot() {
  const [row] = await server.rows<{ events: number; values: number; users: number; entities: number; sessions: number; keys: number }>(sql`
    select (select count(*) from events)::int as events, (select count(*) from event_parameter_values)::int as values,
           (select count(*) from users)::int as users, (select count(*) from entities)::int as entities,
           (select count(*) from users_sessions)::int as sessions, (select count(*) from event_idempotency_keys)::int as keys`);
  return row!;
}

interface Answer {
  status: number;
  body: { data?: unknown; errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> } | null;
  text: string;
}

async function postRaw(body: string | Uint8Array, contentType = 'application/json'): Promise<Answer> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/graphql-response+json, application/json', Authorization: `Bearer ${server.adminKey}` },
    body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let parsed: Answer['body'] = null;
  try {
    parsed = JSON.parse(text) as Answer['body'];
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text };
}

/** What every answer must satisfy: a GraphQL body on every error status, and nothing masked as internal. */
function wellFormed(answer: Answer): void {
  // 415 (a content type that is not GraphQL over HTTP) is the one error status with an empty body.
  if (answer.status >= 400 && answer.status !== 415) {
    expect(answer.body?.errors, `status ${answer.status} without a GraphQL error body: ${answer.text.slice(0, 300)}`).toBeInstanceOf(Array);
  }
  expect(answer.status, answer.text.slice(0, 300)).not.toBe(500);
  for (const error of answer.body?.errors ?? []) {
    expect(typeof error.message).toBe('string');
    expect(error.extensions?.code, JSON.stringify(error)).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

async function stillAlive(): Promise<void> {
  const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  expect(res.status).toBe(200);
}

const tokens = fc.constantFrom(
  '{', '}', '(', ')', '[', ']', ':', '!', '$v', '...', '@include(if: true)', 'query', 'mutation', 'subscription', 'fragment f on Event',
  'log', 'logBatch', 'events', 'eventTypes', 'event', 'entity', 'user', 'id', 'type', 'message', 'params', 'nodes', 'first:', 'after:',
  'input:', 'events:', 'filter:', '"text"', '"""block"""', '123', '-1', '1e309', 'null', 'true', '__typename', '__schema { types { name } }', ',', '\n', '#c\n',
);
const document = fc.oneof(
  fc.array(tokens, { maxLength: 40 }).map((t) => t.join(' ')),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{ eventTypes { name } }', 'query($v: Int) { events(first: $v) { nodes { id } } }', 'mutation($v: [LogInput!]!) { logBatch(events: $v) { recorded } }'),
);
const variables = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.constantFrom('v', 'input', 'events', 'x'), fc.jsonValue({ maxDepth: 4 })));

/** Nested arrays/objects `depth` deep. */
const nested = (depth: number, leaf: unknown, asObject: boolean): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
};
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 0, max: 3 }).map((n) => 'x'.repeat([0, 1999, 2001, 100_000][n]!)),
  fc.integer({ min: 1, max: 3000 }).chain((depth) => fc.boolean().map((asObject) => nested(depth, 'leaf', asObject))),
  fc.constantFrom('\u0000', '\ud800', '💥'.repeat(600), '<script>', "'; drop table events; --", 'NaN', '-0', 'Infinity'),
);
const logInput = fc.record(
  {
    type: fc.oneof(fc.constantFrom('log', 'error', 'query-created', 'fuzz-custom', 'Bad Type', '', 'a'.repeat(101)), oddValue),
    message: oddValue,
    user: fc.oneof(fc.constantFrom('alice', 'bob', ''), oddValue),
    parameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 12 }), oddValue, { maxKeys: 8 }), oddValue, fc.constant({ q: { type: 'query', id: '1', name: 'n' } })),
    occurredAt: fc.oneof(fc.constantFrom('2026-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 'yesterday', '0000-00-00T00:00:00Z'), oddValue),
    durationMs: fc.oneof(fc.double(), oddValue),
    stackTrace: oddValue,
    sessionId: fc.oneof(fc.uuid(), fc.constantFrom('not-a-uuid')),
    idempotencyKey: fc.oneof(fc.string({ maxLength: 20 }), oddValue),
    source: fc.oneof(fc.constantFrom('UI', 'API', 'SERVER', 'nope'), oddValue),
  },
  { requiredKeys: [] },
);

/** Inputs that should mostly be accepted, so that the accepted side of the property is exercised. */
const validInput = fc.record(
  {
    type: fc.constantFrom('log', 'error', 'query-created', 'fuzz-custom'),
    message: fc.string({ maxLength: 50 }),
    user: fc.constantFrom('alice', 'bob', 'carol'),
    parameters: fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,10}$/), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()), { maxKeys: 4 }),
    idempotencyKey: fc.string({ minLength: 1, maxLength: 30 }),
  },
  { requiredKeys: ['message'] },
);

describe('fuzz (fast-check, fixed seed)', () => {
  it('random documents and variables: never a crash, a hang, a bare 500 or an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(document, variables, async (query, vars) => {
        wellFormed(await postRaw(JSON.stringify({ query, variables: vars })));
      }),
      { seed: SEED, numRuns: 200 },
    );
    await stillAlive();
  });

  it('random writes: accepted ones store what they say, rejected ones leave the database unchanged', async () => {
    const LOG = 'mutation($input: LogInput!) { log(input: $input) { recorded event { id } } }';
    const LOG_BATCH = 'mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded duplicates } }';
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(logInput.map((i) => [i]), fc.array(logInput, { maxLength: 25 }), fc.array(validInput, { minLength: 1, maxLength: 10 })), fc.boolean(), async (inputs, single) => {
        const before = await snapshot();
        const answer = await postRaw(JSON.stringify(single ? { query: LOG, variables: { input: inputs[0] } } : { query: LOG_BATCH, variables: { events: inputs } }));
        wellFormed(answer);
        const after = await snapshot();
        const data = answer.body?.data as { log?: unknown; logBatch?: { recorded: number } } | null | undefined;
        const stored = single ? (data?.log ? 1 : 0) : (data?.logBatch?.recorded ?? 0);
        if (answer.body?.errors) {
          rejected++;
          expect(after).toEqual(before);
        } else {
          accepted++;
          expect(after.events - before.events).toBe(stored);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    // The generator must exercise both sides, or the property proves little.
    expect(accepted).toBeGreaterThan(5);
    expect(rejected).toBeGreaterThan(40);
    await stillAlive();
  });

  it('bodies that are not UTF-8, not JSON or not an object: a GraphQL error, nothing stored', async () => {
    const valid = JSON.stringify({ query: 'mutation { log(input: { message: "MARK" }) { recorded } }' });
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // A valid write with one byte replaced by an invalid UTF-8 sequence inside the string.
      fc.constantFrom(0xff, 0xc3, 0xe2, 0xf0, 0x80).map((bad) => {
        const bytes = Buffer.from(valid);
        const at = valid.indexOf('MARK');
        return Buffer.concat([bytes.subarray(0, at), Buffer.from([bad]), bytes.subarray(at + 1)]);
      }),
      fc.constantFrom('', 'null', '[]', '[1,2]', '"q"', '{"query": 5}', '{"query": null}', '{"query": "{ eventTypes { name } }", "variables": "x"}', '{'.repeat(10_000)).map((s) => Buffer.from(s)),
    );
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'application/graphql-response+json', 'text/plain', 'application/x-www-form-urlencoded'), async (bytes, type) => {
        const answer = await postRaw(new Uint8Array(bytes), type);
        wellFormed(answer);
      }),
      { seed: SEED, numRuns: 100 },
    );
    // An invalid byte inside a JSON string decodes to U+FFFD, so such a write may be stored; nothing else may.
    const after = await snapshot();
    const [marked] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like '%ARK'`);
    expect(after.events - before.events).toBe(marked!.n);
    await stillAlive();
  });

  it('wrong graphql-ws messages: the socket is closed with a protocol code or keeps working, never an internal error', async () => {
    const message = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            type: fc.oneof(fc.constantFrom('connection_init', 'subscribe', 'complete', 'ping', 'pong', 'next', 'error', 'connection_ack'), fc.string({ maxLength: 10 })),
            id: fc.oneof(fc.constantFrom('1', '2'), fc.jsonValue({ maxDepth: 1 })),
            payload: fc.oneof(
              fc.jsonValue({ maxDepth: 3 }),
              fc.record({ query: document, variables }),
              fc.constant({ query: 'subscription { events { id } }' }),
              fc.constant({ query: 'mutation { log(input: { message: "ws" }) { recorded } }' }),
            ),
          },
          { requiredKeys: ['type'] },
        )
        .map((m) => JSON.stringify(m)),
    );
    const closeCodes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(message, { minLength: 1, maxLength: 6 }), async (init, messages) => {
        const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
        const received: string[] = [];
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        socket.on('message', (data) => received.push(String(data)));
        await new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('error', reject);
        });
        if (init) socket.send(JSON.stringify({ type: 'connection_init' }));
        for (const m of messages) if (socket.readyState === WebSocket.OPEN) socket.send(m);
        // Either the server closes the socket, or it still answers a ping.
        const pong = new Promise<'pong'>((resolve) => socket.on('message', (data) => String(data).includes('"pong"') && resolve('pong')));
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'ping' }));
        let outcome = await Promise.race([closed, pong, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 2000))]);
        // graphql-ws handles messages asynchronously: a close for an earlier message may follow the pong.
        if (outcome === 'pong') outcome = await Promise.race([closed, new Promise<'pong'>((r) => setTimeout(() => r('pong'), 100))]);
        if (typeof outcome === 'number') {
          closeCodes.set(outcome, (closeCodes.get(outcome) ?? 0) + 1);
          // 4500 Internal Server Error, 1011 internal error, 1006 a socket cut without a close frame.
          expect([4500, 1011, 1006]).not.toContain(outcome);
        } else {
          expect(outcome).toBe('pong');
        }
        for (const r of received) expect(r).not.toContain('INTERNAL_SERVER_ERROR');
        socket.terminate();
      }),
      {
        seed: SEED,
        numRuns: 60,
        // Messages only a server may send: graphql-ws alone would close with 4500 (see src/ops/ws-guard.ts).
        examples: [
          [true, [JSON.stringify({ type: 'connection_ack' })]],
          [true, [JSON.stringify({ type: 'next', id: '1', payload: { data: null } })]],
          [false, [JSON.stringify({ type: 'error', id: '1', payload: [] })]],
        ],
      },
    );
    // The fuzzing reached the protocol checks (4400 Bad Request at least once).
    expect(closeCodes.get(4400) ?? 0).toBeGreaterThan(0);
    await stillAlive();
  });
});
