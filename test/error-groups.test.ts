import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded results { event { id fingerprint errorGroupStatus } } } }`;
const GROUPS = `query($filter: EventFilter, $statuses: [ErrorGroupStatus!], $sort: ErrorGroupSort, $first: Int, $after: String, $lastEvents: Int, $withinMinutes: Float) {
  errorGroups(filter: $filter, statuses: $statuses, sort: $sort, first: $first, after: $after) {
    nodes { fingerprint status type message stackTrace count distinctUsers firstSeen lastSeen mergedFingerprints
            byDay { key count } precedingActions(lastEvents: $lastEvents, withinMinutes: $withinMinutes) { type count share } }
    pageInfo { hasNextPage endCursor } } }`;
const SET_STATUS = `mutation($fp: String!, $status: SettableErrorGroupStatus!) { setErrorGroupStatus(fingerprint: $fp, status: $status) { fingerprint status count } }`;

const TRACE_A = 'TypeError: a is undefined\n    at load (https://app.example.com/main.3f9a2c1b.js:10:5)';
const TRACE_B = 'RangeError: index out of range\n    at pick (https://app.example.com/main.3f9a2c1b.js:99:1)';
const at = (iso: string, minutes = 0) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

async function session(user: string): Promise<string> {
  const res = await server.gql(`mutation($u: String!) { startSession(input: { user: $u }) { id } }`, { u: user });
  return res.data.startSession.id;
}

/** One occurrence of an error and the actions planted before it. */
function occurrence(sessionId: string, time: string, error: { message: string; stackTrace: string }, before: Array<[type: string, minutesBefore: number]>) {
  return [
    ...before.map(([type, minutes]) => ({ type, sessionId, occurredAt: at(time, -minutes), message: 'step' })),
    { type: 'error', sessionId, occurredAt: time, ...error },
  ];
}

const A = { message: 'a is undefined', stackTrace: TRACE_A };
const B = { message: 'index out of range', stackTrace: TRACE_B };
let fpA = '';
let fpB = '';

beforeAll(async () => {
  const [alice, bob, carol] = [await session('alice'), await session('bob'), await session('carol')];
  const planted = [['query-start', 1], ['comment-posted', 2]] as Array<[string, number]>;
  const events = [
    // Alice: 3 × A on 2026-10-01, each with project-opened 30 minutes before (outside the default 10).
    ...[0, 180, 360].flatMap((m) => occurrence(alice, at('2026-10-01T06:00:00Z', m), A, [...planted, ['project-opened', 30]])),
    // Bob: 1 × A on 2026-10-01, 2 × A on 2026-10-02.
    ...occurrence(bob, '2026-10-01T12:00:00Z', A, planted),
    ...[0, 180].flatMap((m) => occurrence(bob, at('2026-10-02T06:00:00Z', m), A, planted)),
    // Carol: 2 × B after a script run.
    ...[0, 180].flatMap((m) => occurrence(carol, at('2026-10-03T06:00:00Z', m), B, [['script-start', 3]])),
  ];
  const res = await server.gql(LOG_BATCH, { events });
  expect(res.errors).toBeUndefined();
  const fps = res.data.logBatch.results.map((r: any) => r.event.fingerprint).filter(Boolean);
  fpA = fps[0];
  fpB = fps.at(-1);
  expect(new Set(fps)).toEqual(new Set([fpA, fpB]));
});

describe('errorGroups', () => {
  it('groups by fingerprint with counts, users, first and last seen, counts by day', async () => {
    const res = await server.gql(GROUPS, {});
    expect(res.errors).toBeUndefined();
    const [a, b, ...rest] = res.data.errorGroups.nodes;
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      fingerprint: fpA,
      status: 'OPEN',
      type: 'error',
      message: 'a is undefined',
      stackTrace: TRACE_A,
      count: 6,
      distinctUsers: 2,
      firstSeen: '2026-10-01T06:00:00.000Z',
      lastSeen: '2026-10-02T09:00:00.000Z',
      byDay: [
        { key: '2026-10-01', count: 4 },
        { key: '2026-10-02', count: 2 },
      ],
    });
    expect(b).toMatchObject({ fingerprint: fpB, count: 2, distinctUsers: 1, byDay: [{ key: '2026-10-03', count: 2 }] });
  });

  it('finds the actions that come just before an error, within the last N events and M minutes', async () => {
    const byDefault = (await server.gql(GROUPS, {})).data.errorGroups.nodes;
    expect(byDefault[0].precedingActions).toEqual([
      { type: 'comment-posted', count: 6, share: 1 },
      { type: 'query-start', count: 6, share: 1 },
    ]);
    expect(byDefault[1].precedingActions).toEqual([{ type: 'script-start', count: 2, share: 1 }]);
    const wider = (await server.gql(GROUPS, { withinMinutes: 60 })).data.errorGroups.nodes[0];
    expect(wider.precedingActions).toEqual([
      { type: 'comment-posted', count: 6, share: 1 },
      { type: 'query-start', count: 6, share: 1 },
      { type: 'project-opened', count: 3, share: 0.5 },
    ]);
    const lastOne = (await server.gql(GROUPS, { withinMinutes: 60, lastEvents: 1 })).data.errorGroups.nodes[0];
    expect(lastOne.precedingActions).toEqual([{ type: 'query-start', count: 6, share: 1 }]);
    const bad = await server.gql(GROUPS, { lastEvents: 0 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('applies the event filter, sorts by last seen and pages', async () => {
    const bobs = (await server.gql(GROUPS, { filter: { user: 'bob' } })).data.errorGroups.nodes;
    expect(bobs.map((g: any) => [g.fingerprint, g.count])).toEqual([[fpA, 3]]);
    const recent = (await server.gql(GROUPS, { sort: 'LAST_SEEN' })).data.errorGroups.nodes;
    expect(recent.map((g: any) => g.fingerprint)).toEqual([fpB, fpA]);
    const first = (await server.gql(GROUPS, { first: 1 })).data.errorGroups;
    expect(first.nodes.map((g: any) => g.fingerprint)).toEqual([fpA]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await server.gql(GROUPS, { first: 1, after: first.pageInfo.endCursor })).data.errorGroups;
    expect(second.nodes.map((g: any) => g.fingerprint)).toEqual([fpB]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const badCursor = await server.gql(GROUPS, { after: 'nope' });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
  });
});

describe('status', () => {
  it('a resolved group that recurs comes back as REGRESSED, live and in errorGroups; an ignored one stays ignored', async () => {
    expect((await server.gql(SET_STATUS, { fp: fpA, status: 'RESOLVED' })).data.setErrorGroupStatus).toEqual({ fingerprint: fpA, status: 'RESOLVED', count: 6 });
    expect((await server.gql(SET_STATUS, { fp: fpB, status: 'IGNORED' })).data.setErrorGroupStatus.status).toBe('IGNORED');
    const resolved = (await server.gql(GROUPS, { statuses: ['RESOLVED'] })).data.errorGroups.nodes;
    expect(resolved.map((g: any) => g.fingerprint)).toEqual([fpA]);

    const live = subscribe(server.wsClient(), `subscription { errors { fingerprint message errorGroupStatus } }`);
    await untilSubscribed(server, 1);
    const res = await server.gql(LOG_BATCH, { events: [{ type: 'error', user: 'dave', ...A }, { type: 'error', user: 'dave', ...B }, { type: 'error', user: 'dave', ...A }] });
    expect(res.data.logBatch.results.map((r: any) => r.event.errorGroupStatus)).toEqual(['REGRESSED', 'IGNORED', 'REGRESSED']);
    const received = await live.waitFor(3);
    expect(received.map((m) => m.data)).toEqual([
      { errors: { fingerprint: fpA, message: A.message, errorGroupStatus: 'REGRESSED' } },
      { errors: { fingerprint: fpB, message: B.message, errorGroupStatus: 'IGNORED' } },
      { errors: { fingerprint: fpA, message: A.message, errorGroupStatus: 'REGRESSED' } },
    ]);
    live.unsubscribe();

    const regressed = (await server.gql(GROUPS, { statuses: ['REGRESSED'] })).data.errorGroups.nodes;
    expect(regressed.map((g: any) => [g.fingerprint, g.count])).toEqual([[fpA, 8]]);
    const queried = await server.gql(`query($f: EventFilter) { events(filter: $f, first: 1) { nodes { fingerprint errorGroupStatus } } }`, { f: { user: 'dave' } });
    expect(queried.data.events.nodes).toEqual([{ fingerprint: fpA, errorGroupStatus: 'REGRESSED' }]);

    // Resolving again and reopening by hand are both allowed.
    expect((await server.gql(SET_STATUS, { fp: fpA, status: 'OPEN' })).data.setErrorGroupStatus.status).toBe('OPEN');
    const unknown = await server.gql(SET_STATUS, { fp: 'ffffffffffffffff', status: 'RESOLVED' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('rules and merges', () => {
  it('a fingerprint rule forces matching errors into one group', async () => {
    const ADD = `mutation($field: FingerprintRuleField!, $pattern: String!, $fp: String) { addErrorFingerprintRule(field: $field, pattern: $pattern, fingerprint: $fp) { id field pattern fingerprint } }`;
    const bad = await server.gql(ADD, { field: 'MESSAGE', pattern: 'timeout (' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_RULE');
    const added = await server.gql(ADD, { field: 'MESSAGE', pattern: 'timeout after \\d+ ms', fp: 'timeouts' });
    expect(added.data.addErrorFingerprintRule).toMatchObject({ field: 'MESSAGE', fingerprint: 'timeouts' });
    const res = await server.gql(LOG_BATCH, {
      events: [
        { type: 'error', user: 'erin', message: 'Timeout after 100 ms', stackTrace: 'at a (x.js:1:1)' },
        { type: 'error', user: 'erin', message: 'timeout after 2500 ms', stackTrace: 'at b (y.js:2:2)' },
        { type: 'error', user: 'erin', message: 'other', stackTrace: 'at c (z.js:3:3)' },
      ],
    });
    const fps = res.data.logBatch.results.map((r: any) => r.event.fingerprint);
    expect(fps.slice(0, 2)).toEqual(['timeouts', 'timeouts']);
    expect(fps[2]).not.toBe('timeouts');
    const groups = (await server.gql(GROUPS, { filter: { user: 'erin' } })).data.errorGroups.nodes;
    expect(groups.map((g: any) => [g.fingerprint, g.count])).toEqual([['timeouts', 2], [fps[2], 1]]);
    const rules = await server.gql(`{ errorFingerprintRules { id pattern } }`);
    expect(rules.data.errorFingerprintRules).toHaveLength(1);
    const removed = await server.gql(`mutation($id: ID!) { removeErrorFingerprintRule(id: $id) }`, { id: added.data.addErrorFingerprintRule.id });
    expect(removed.data.removeErrorFingerprintRule).toBe(true);
    const after = await server.gql(LOG_BATCH, { events: [{ type: 'error', message: 'Timeout after 7 ms' }] });
    expect(after.data.logBatch.results[0].event.fingerprint).not.toBe('timeouts');
  });

  it('merging two groups counts them as one, now and for new errors', async () => {
    const MERGE = `mutation($s: String!, $t: String!) { mergeErrorGroups(source: $s, target: $t) { fingerprint count mergedFingerprints status } }`;
    const merged = await server.gql(MERGE, { s: fpB, t: fpA });
    expect(merged.errors).toBeUndefined();
    expect(merged.data.mergeErrorGroups).toEqual({ fingerprint: fpA, count: 11, mergedFingerprints: [fpB], status: 'OPEN' });
    const again = await server.gql(MERGE, { s: fpB, t: fpA });
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await server.gql(SET_STATUS, { fp: fpA, status: 'RESOLVED' });
    const res = await server.gql(LOG_BATCH, { events: [{ type: 'error', user: 'frank', ...B }] });
    expect(res.data.logBatch.results[0].event).toMatchObject({ fingerprint: fpB, errorGroupStatus: 'REGRESSED' });
    const groups = (await server.gql(GROUPS, { filter: { types: ['error'] } })).data.errorGroups.nodes;
    const a = groups.find((g: any) => g.fingerprint === fpA);
    expect(a).toMatchObject({ count: 12, status: 'REGRESSED', message: 'index out of range' });
    expect(groups.some((g: any) => g.fingerprint === fpB)).toBe(false);
  });
});

describe('errorGroupStatus on a page of events', () => {
  it('reads each error’s group status with the page: open, resolved, ignored, merged, regressed; null for non-errors', async () => {
    const trace = (name: string) => `Error: ${name}\n    at run (https://app.example.com/${name}.js:1:1)`;
    const error = (name: string) => ({ type: 'error', user: 'gina', message: name, stackTrace: trace(name), parameters: { job: { type: 'job', id: 'J9' } } });
    const first = await server.gql(LOG_BATCH, { events: ['open', 'resolved', 'ignored', 'merged', 'recurring'].map(error) });
    const fp = Object.fromEntries(first.data.logBatch.results.map((r: any, i: number) => [['open', 'resolved', 'ignored', 'merged', 'recurring'][i], r.event.fingerprint]));
    expect(new Set(Object.values(fp)).size).toBe(5);
    await server.gql(SET_STATUS, { fp: fp.resolved, status: 'RESOLVED' });
    await server.gql(SET_STATUS, { fp: fp.ignored, status: 'IGNORED' });
    await server.gql(SET_STATUS, { fp: fp.recurring, status: 'RESOLVED' });
    const merged = await server.gql(`mutation($s: String!, $t: String!) { mergeErrorGroups(source: $s, target: $t) { fingerprint } }`, { s: fp.merged, t: fp.resolved });
    expect(merged.errors).toBeUndefined();
    const again = await server.gql(LOG_BATCH, { events: [error('recurring'), { type: 'log', user: 'gina', message: 'not an error', parameters: { job: { type: 'job', id: 'J9' } } }] });
    expect(again.data.logBatch.results.map((r: any) => r.event.errorGroupStatus)).toEqual(['REGRESSED', null]);

    const expected = [
      { message: 'not an error', errorGroupStatus: null },
      { message: 'recurring', errorGroupStatus: 'REGRESSED' },
      { message: 'recurring', errorGroupStatus: 'REGRESSED' },
      { message: 'merged', errorGroupStatus: 'RESOLVED' },
      { message: 'ignored', errorGroupStatus: 'IGNORED' },
      { message: 'resolved', errorGroupStatus: 'RESOLVED' },
      { message: 'open', errorGroupStatus: 'OPEN' },
    ];
    const page = await server.gql(`query($f: EventFilter) { events(filter: $f, first: 50) { nodes { message errorGroupStatus } } }`, { f: { user: 'gina' } });
    expect(page.data.events.nodes).toEqual(expected);
    // The same through an entity's activity and a single event.
    const activity = await server.gql(`{ entity(type: "job", id: "J9") { activity(first: 50) { nodes { message errorGroupStatus } } } }`);
    expect(activity.data.entity.activity.nodes).toEqual(expected);
    const one = await server.gql(`query($id: ID!) { event(id: $id) { errorGroupStatus } }`, { id: first.data.logBatch.results[3].event.id });
    expect(one.data.event.errorGroupStatus).toBe('RESOLVED');
    // And they agree with errorGroups.
    const groups = (await server.gql(GROUPS, { filter: { user: 'gina' } })).data.errorGroups.nodes;
    expect(Object.fromEntries(groups.map((g: any) => [g.fingerprint, g.status]))).toEqual({
      [fp.open]: 'OPEN',
      [fp.resolved]: 'RESOLVED',
      [fp.ignored]: 'IGNORED',
      [fp.recurring]: 'REGRESSED',
    });
  });
});
