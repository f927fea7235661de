import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
const keys: Record<Credential, string | null> = { none: null, write: null, read: null, admin: null, bound: null };
let aliceEvent = '';
let bobEvent = '';
let sessionId = '';

type Credential = 'none' | 'write' | 'read' | 'admin' | 'bound';
const CREDENTIALS: Credential[] = ['none', 'write', 'read', 'admin', 'bound'];
/** What a cell expects: the field answered, or the error code. */
type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';
const U = 'UNAUTHENTICATED' as const;
const F = 'FORBIDDEN' as const;

async function createKey(name: string, scopes: string[], user?: string) {
  const res = await server.gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, { input: { name, scopes, user } });
  return res.data.createApiKey.key as string;
}

beforeAll(async () => {
  server = await startTestServer();
  keys.write = await createKey('writer', ['AUDIT_WRITE']);
  keys.read = await createKey('reader', ['AUDIT_READ']);
  keys.admin = await createKey('administrator', ['AUDIT_ADMIN']);
  keys.bound = await createKey('alice only', [], 'alice');
  const log = `mutation($input: LogInput!) { log(input: $input) { event { id } } }`;
  aliceEvent = (await server.gql(log, { input: { user: 'alice', message: 'alice did it', parameters: { q: { type: 'query', id: 'm1' } } } })).data.log.event.id;
  bobEvent = (await server.gql(log, { input: { user: 'bob', message: 'bob did it', parameters: { q: { type: 'query', id: 'm1' } } } })).data.log.event.id;
  sessionId = (await server.gql(`mutation { startSession(input: { user: "carol" }) { id } }`)).data.startSession.id;
});
afterAll(() => server?.stop());

type Cell = (credential: Credential) => Promise<Outcome>;

function outcomeOf(res: { data?: any; errors?: Array<{ extensions?: Record<string, any> }> }, field: string): Outcome {
  if (res.errors?.length) {
    const code = res.errors[0]!.extensions?.code;
    if (code === U || code === F) return code;
    // A refusal by the domain (NOT_FOUND, ACTOR_REQUIRED…) means the scope check let the call through.
    if (typeof code === 'string' && !['INTERNAL_SERVER_ERROR', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'].includes(code)) return 'ok';
    throw new Error(`unexpected error for ${field}: ${JSON.stringify(res.errors)}`);
  }
  expect(res.data?.[field]).toBeDefined();
  return 'ok';
}

const http = (field: string, query: string, variables?: () => Record<string, unknown>): Cell => async (credential) =>
  outcomeOf(await server.as(keys[credential]).gql(query, variables?.()), field);

const live = (field: string, query: string): Cell => async (credential) => {
  const before = server.services.fanout.subscribers;
  const feed = subscribe(server.as(keys[credential]).wsClient(), query);
  const subscribed = untilSubscribed(server, before + 1, 5_000).then(() => true, () => false);
  const failed = feed.waitFor(1, 5_000).then(() => false, () => false);
  await Promise.race([subscribed, failed]);
  if (server.services.fanout.subscribers === before + 1) {
    feed.unsubscribe();
    await untilSubscribed(server, before);
    return 'ok';
  }
  const errors = (feed.failure ?? feed.received[0]?.errors) as Array<{ extensions?: { code?: string } }> | null;
  const code = Array.isArray(errors) ? errors[0]?.extensions?.code : undefined;
  if (code === U || code === F) return code;
  throw new Error(`unexpected outcome for ${field}: ${JSON.stringify(feed.failure ?? feed.received)}`);
};

/** Every root field × credential: none, write, read, admin, bound to user alice (no scopes). */
const MATRIX: Record<string, { cell: Cell; expected: [Outcome, Outcome, Outcome, Outcome, Outcome] }> = {
  'Query.event': { cell: http('event', `query($id: ID!) { event(id: $id) { id } }`, () => ({ id: aliceEvent })), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Query.events': { cell: http('events', `{ events(first: 5) { nodes { id } } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Query.eventTypes': { cell: http('eventTypes', `{ eventTypes { name } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Query.entity': { cell: http('entity', `{ entity(type: "query", id: "m1") { name } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.user': { cell: http('user', `{ user(login: "alice") { login } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Query.verifyIntegrity': { cell: http('verifyIntegrity', `{ verifyIntegrity { ok } }`), expected: [U, F, F, 'ok', F] },
  'Query.checkpoints': { cell: http('checkpoints', `{ checkpoints { nodes { id } } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.checkpointKey': { cell: http('checkpointKey', `{ checkpointKey { id } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.checkpointExport': { cell: http('checkpointExport', `{ checkpointExport }`), expected: [U, F, 'ok', 'ok', F] },
  // Without a key (PostgreSQL mode here) an administrator gets CHECKPOINTS_DISABLED: past the scope check.
  'Mutation.createCheckpoint': { cell: http('createCheckpoint', `mutation { createCheckpoint { id } }`), expected: [U, F, F, 'ok', F] },
  'Query.apiKeys': { cell: http('apiKeys', `{ apiKeys { id } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.log': { cell: http('log', `mutation { log(input: { message: "m" }) { recorded } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.logBatch': { cell: http('logBatch', `mutation { logBatch(events: [{ message: "m" }]) { recorded } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.startSession': { cell: http('startSession', `mutation { startSession(input: { user: "dan" }) { id } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.endSession': {
    // A fresh session per cell, so that only the credential decides.
    cell: async (credential) => {
      const id = (await server.gql(`mutation { startSession(input: { user: "erin" }) { id } }`)).data.startSession.id;
      return outcomeOf(await server.as(keys[credential]).gql(`mutation($id: ID!) { endSession(id: $id) { id } }`, { id }), 'endSession');
    },
    expected: [U, 'ok', F, 'ok', F],
  },
  'Mutation.createApiKey': { cell: http('createApiKey', `mutation { createApiKey(input: { name: "x", scopes: [AUDIT_READ] }) { key } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.createViewerToken': {
    cell: http('createViewerToken', `mutation { createViewerToken(entity: { type: "query", id: "m1" }) { token } }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.revokeApiKey': {
    cell: async (credential) => {
      const id = (await server.gql(`mutation { createApiKey(input: { name: "victim", scopes: [AUDIT_READ] }) { apiKey { id } } }`)).data.createApiKey.apiKey.id;
      return outcomeOf(await server.as(keys[credential]).gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id }), 'revokeApiKey');
    },
    expected: [U, F, F, 'ok', F],
  },
  'Subscription.events': { cell: live('events', `subscription { events { id } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Subscription.errors': { cell: live('errors', `subscription { errors { id } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
  'Query.effectiveLoggerSettings': { cell: http('effectiveLoggerSettings', `{ effectiveLoggerSettings(user: "alice") { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.errorFingerprintRules': { cell: http('errorFingerprintRules', `{ errorFingerprintRules { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Query.errorGroups': { cell: http('errorGroups', `{ errorGroups { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.functionUsage': { cell: http('functionUsage', `{ functionUsage { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.group': { cell: http('group', `{ group(name: "nobody") { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.groups': { cell: http('groups', `{ groups { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.loggerSettings': { cell: http('loggerSettings', `{ loggerSettings { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.menuItemUsage': { cell: http('menuItemUsage', `{ menuItemUsage { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.performance': { cell: http('performance', `{ performance { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.retentionPolicy': { cell: http('retentionPolicy', `{ retentionPolicy { months } }`), expected: [U, F, F, 'ok', F] },
  'Query.suggestions': { cell: http('suggestions', `{ suggestions { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.usage': { cell: http('usage', `{ usage(groupBy: TYPE) { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.usagePatterns': { cell: http('usagePatterns', `{ usagePatterns(clusters: 2) { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Mutation.addErrorFingerprintRule': {
    cell: http('addErrorFingerprintRule', `mutation { addErrorFingerprintRule(field: MESSAGE, pattern: "never-matches-anything", fingerprint: "matrix") { __typename } }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.removeErrorFingerprintRule': { cell: http('removeErrorFingerprintRule', `mutation { removeErrorFingerprintRule(id: "999999") }`), expected: [U, F, F, 'ok', F] },
  'Mutation.mergeErrorGroups': { cell: http('mergeErrorGroups', `mutation { mergeErrorGroups(source: "nope-a", target: "nope-b") { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.setErrorGroupStatus': { cell: http('setErrorGroupStatus', `mutation { setErrorGroupStatus(fingerprint: "nope", status: RESOLVED) { __typename } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.declareFunctionParameters': {
    cell: http('declareFunctionParameters', `mutation { declareFunctionParameters(type: "matrix-fn", inputs: ["a"], outputs: ["b"]) }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.upsertGroup': { cell: http('upsertGroup', `mutation { upsertGroup(name: "matrix-group") { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.setGroupMembers': { cell: http('setGroupMembers', `mutation { setGroupMembers(group: "nope", users: []) { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.setLoggerSettings': {
    cell: http('setLoggerSettings', `mutation { setLoggerSettings(target: { user: "matrix-user" }, settings: { level: VERBOSE }) { __typename } }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.removeLoggerSettings': { cell: http('removeLoggerSettings', `mutation { removeLoggerSettings(target: { user: "matrix-user" }) { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.setRetentionPolicy': { cell: http('setRetentionPolicy', `mutation { setRetentionPolicy(months: null) { policy { months } } }`), expected: [U, F, F, 'ok', F] },
  'Mutation.recordChanges': {
    cell: http('recordChanges', `mutation { recordChanges(actor: "alice", input: { target: { type: "dataset", id: "matrix" }, changes: [{ action: SET, field: "title", value: "x" }] }) { __typename } }`),
    expected: [U, 'ok', F, 'ok', F],
  },
  'Mutation.revertChanges': { cell: http('revertChanges', `mutation { revertChanges(eventId: "999999999", actor: "alice") { __typename } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.proposeSuggestion': {
    cell: http('proposeSuggestion', `mutation { proposeSuggestion(target: { type: "dataset", id: "matrix" }, approverGroup: "nope", actor: "alice", changes: [{ action: SET, field: "title", value: "y" }]) { __typename } }`),
    expected: [U, 'ok', F, 'ok', F],
  },
  'Mutation.approveSuggestion': { cell: http('approveSuggestion', `mutation { approveSuggestion(id: "00000000-0000-4000-8000-000000000000", actor: "alice") { __typename } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.rejectSuggestion': { cell: http('rejectSuggestion', `mutation { rejectSuggestion(id: "00000000-0000-4000-8000-000000000000", actor: "alice", reason: "no") { __typename } }`), expected: [U, 'ok', F, 'ok', F] },
  'Mutation.cancelSuggestion': { cell: http('cancelSuggestion', `mutation { cancelSuggestion(id: "00000000-0000-4000-8000-000000000000", actor: "alice") { __typename } }`), expected: [U, 'ok', F, 'ok', F] },
  'Subscription.suggestionUpdates': { cell: live('suggestionUpdates', `subscription { suggestionUpdates { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Query.exportSinks': { cell: http('exportSinks', `{ exportSinks { __typename } }`), expected: [U, F, 'ok', 'ok', F] },
  'Mutation.configureCloudWatchExport': {
    cell: http('configureCloudWatchExport', `mutation { configureCloudWatchExport(input: { name: "matrix-cw", logGroup: "g", region: "us-east-1", endpoint: "http://127.0.0.1:9", streams: [{ match: "log", stream: "s" }] }) { __typename } }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.configureFileExport': {
    cell: http('configureFileExport', `mutation { configureFileExport(input: { name: "matrix-file", path: "matrix.jsonl" }) { __typename } }`),
    expected: [U, F, F, 'ok', F],
  },
  'Mutation.removeExportSink': { cell: http('removeExportSink', `mutation { removeExportSink(id: "00000000-0000-4000-8000-000000000000") { __typename } }`), expected: [U, F, F, 'ok', F] },
  'Subscription.entityActivity': { cell: live('entityActivity', `subscription { entityActivity(type: "query", id: "m1") { id } }`), expected: [U, F, 'ok', 'ok', 'ok'] },
};

describe('authorization matrix', () => {
  it('covers every root field of the schema', async () => {
    const res = await server.gql(getIntrospectionQuery());
    const roots = ['Query', 'Mutation', 'Subscription'];
    const fields = res.data.__schema.types
      .filter((t: { name: string }) => roots.includes(t.name))
      .flatMap((t: { name: string; fields: Array<{ name: string }> }) => t.fields.map((f) => `${t.name}.${f.name}`));
    expect(fields.filter((f: string) => !(f in MATRIX)), 'root fields missing from the matrix').toEqual([]);
  });

  for (const [field, { cell, expected }] of Object.entries(MATRIX)) {
    it(`${field}: ${CREDENTIALS.map((c, i) => `${c}→${expected[i]}`).join(', ')}`, async () => {
      const actual: Outcome[] = [];
      for (const credential of CREDENTIALS) actual.push(await cell(credential));
      expect(actual).toEqual(expected);
    });
  }
});

describe('a credential bound to a user', () => {
  it('reads only its own activity in queries', async () => {
    const bound = server.as(keys.bound);
    const events = await bound.gql(`{ events(first: 50) { nodes { id user } } }`);
    expect(events.data.events.nodes.length).toBeGreaterThan(0);
    expect(new Set(events.data.events.nodes.map((n: { user: string }) => n.user))).toEqual(new Set(['alice']));
    expect(events.data.events.nodes.map((n: { id: string }) => n.id)).toContain(aliceEvent);

    const other = await bound.gql(`{ events(filter: { user: "bob" }) { nodes { id } } }`);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await bound.gql(`query($id: ID!) { event(id: $id) { id } }`, { id: bobEvent })).data.event).toBeNull();
    expect((await bound.gql(`{ user(login: "bob") { login } }`)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await bound.gql(`{ user(login: "alice") { login activity { nodes { id } } } }`);
    expect(own.data.user.activity.nodes.map((n: { id: string }) => n.id)).toContain(aliceEvent);
  });

  it('receives only its own events in subscriptions', async () => {
    const before = server.services.fanout.subscribers;
    const feed = subscribe(server.as(keys.bound).wsClient(), `subscription { entityActivity(type: "query", id: "live") { user message } }`);
    await untilSubscribed(server, before + 1);
    const log = `mutation($input: LogInput!) { log(input: $input) { recorded } }`;
    for (const user of ['bob', 'alice', 'carol', 'alice']) {
      await server.gql(log, { input: { user, message: `${user} live`, parameters: { q: { type: 'query', id: 'live' } } } });
    }
    await feed.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(feed.received.map((m) => m.data.entityActivity.user)).toEqual(['alice', 'alice']);
    feed.unsubscribe();
    await untilSubscribed(server, before);
  });
});

describe('denials', () => {
  it('records each refused administrative call as an access-denied event, and no other refusal', async () => {
    const count = async () =>
      (await server.rows<{ n: number }>(sql`select count(*)::int as n from events e join event_types t on t.id = e.event_type_id where t.name = 'access-denied'`))[0]!.n;
    const before = await count();
    await server.as(keys.read).gql(`{ apiKeys { id } }`);
    await server.as(null).gql(`mutation { createApiKey(input: { name: "x", scopes: [AUDIT_READ] }) { key } }`);
    await server.as(keys.read).gql(`mutation { log(input: { message: "not admin" }) { recorded } }`);
    const deadline = Date.now() + 5_000;
    while ((await count()) < before + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await count()).toBe(before + 2);
    const res = await server.gql(`{ events(filter: { types: ["access-denied"] }, first: 2) { nodes { message params } } }`);
    expect(res.data.events.nodes.map((n: { message: string }) => n.message)).toEqual([
      'Refused Mutation.createApiKey: no credential',
      'Refused Query.apiKeys: missing scope',
    ]);
    expect(res.data.events.nodes[1].params).toMatchObject({ field: 'Query.apiKeys', callerName: 'reader' });
  });
});

describe('viewer tokens', () => {
  const mint = async (args: string) => (await server.gql(`mutation { createViewerToken(${args}) { token expiresAt } }`)).data.createViewerToken;
  const viewedCount = async () =>
    (await server.rows<{ n: number }>(sql`select count(*)::int as n from events e join event_types t on t.id = e.event_type_id where t.name = 'audit-log-viewed'`))[0]!.n;

  it('reads only its entity’s activity, in queries and subscriptions, and each use is recorded', async () => {
    const { token, expiresAt } = await mint(`entity: { type: "query", id: "vt" }, ttlSeconds: 60`);
    expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(61_000);
    const log = `mutation($input: LogInput!) { log(input: $input) { event { id } } }`;
    await server.gql(log, { input: { user: 'bob', message: 'on vt', parameters: { q: { type: 'query', id: 'vt' } } } });
    await server.gql(log, { input: { user: 'bob', message: 'elsewhere', parameters: { q: { type: 'query', id: 'other' } } } });
    const viewedBefore = await viewedCount();
    const viewer = server.as(token);
    const events = await viewer.gql(`{ events { nodes { message } } }`);
    expect(events.data.events.nodes.map((n: { message: string }) => n.message)).toEqual(['on vt']);
    expect((await viewer.gql(`{ events(filter: { entity: { type: "query", id: "other" } }) { nodes { id } } }`)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await viewer.gql(`{ eventTypes { name } }`)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await viewer.gql(`{ user(login: "bob") { login } }`)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const before = server.services.fanout.subscribers;
    const feed = subscribe(viewer.wsClient(), `subscription { events { message } }`);
    await untilSubscribed(server, before + 1);
    await server.gql(log, { input: { message: 'live elsewhere', parameters: { q: { type: 'query', id: 'other' } } } });
    await server.gql(log, { input: { message: 'live on vt', parameters: { q: { type: 'query', id: 'vt' } } } });
    await feed.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(feed.received.map((m) => m.data.events.message)).toEqual(['live on vt']);
    feed.unsubscribe();
    await untilSubscribed(server, before);

    const deadline = Date.now() + 5_000;
    while ((await viewedCount()) < viewedBefore + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await viewedCount()).toBe(viewedBefore + 2); // the events query and the subscription; refusals are not reads
    const recorded = await server.gql(`{ events(filter: { types: ["audit-log-viewed"] }, first: 1) { nodes { params } } }`);
    expect(recorded.data.events.nodes[0].params).toMatchObject({ field: 'Subscription.events', entity: 'query/vt' });
  });

  it('refuses an expired or forged viewer token, and a grant of neither or both', async () => {
    const { token } = await mint(`group: "nobody", ttlSeconds: 1`);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await server.as(token).gql(`{ events { nodes { id } } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [header, payload, signature] = (await mint(`group: "nobody"`)).token.split('.');
    const widened = Buffer.from(JSON.stringify({ grp: 'everyone', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    expect((await server.as(`${header}.${widened}.${signature}`).gql(`{ events { nodes { id } } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(payload).toBeTruthy();
    const both = await server.gql(`mutation { createViewerToken(group: "g", entity: { type: "query", id: "x" }) { token } }`);
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
