import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type GraphQLResponse, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded results { event { id occurredAt } } } }`;
const EVENTS = `query($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) { edges { cursor node { id occurredAt } } pageInfo { hasNextPage endCursor } } }`;

interface Logged {
  id: string;
  at: number;
  user: string;
  onEntity: boolean;
}

/** Newest first: by time, then by id for events logged in the same millisecond. */
const newestFirst = (a: Logged, b: Logged) => b.at - a.at || Number(BigInt(b.id) - BigInt(a.id));

async function pageThrough(filter: Record<string, unknown> | null): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const res: GraphQLResponse = await server.gql(EVENTS, { filter, first: 100, after });
    expect(res.errors).toBeUndefined();
    const { edges, pageInfo } = res.data.events as { edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } };
    ids.push(...edges.map((e) => e.node.id));
    if (!pageInfo.hasNextPage) return ids;
    expect(pageInfo.endCursor).toBe(edges.at(-1)!.cursor);
    after = pageInfo.endCursor;
  }
  throw new Error('paging did not end');
}

describe('10,000 events paged through events(first: 100)', () => {
  const logged: Logged[] = [];

  beforeAll(async () => {
    const base = Date.now() - 3_600_000;
    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 1000 }, (_, j) => {
        const i = batch * 1000 + j;
        const user = `user${i % 10}`;
        const onEntity = i % 4 === 0;
        // Three events share each millisecond, so the cursor must break ties by id.
        const occurredAt = new Date(base + Math.floor(i / 3)).toISOString();
        return { type: 'query-start', user, occurredAt, parameters: onEntity ? { query: { type: 'query', id: 'Q1' }, i } : { i } };
      });
      const res = await server.gql(LOG_BATCH, { events });
      expect(res.data.logBatch.recorded).toBe(1000);
      res.data.logBatch.results.forEach((r: { event: { id: string; occurredAt: string } }, j: number) => {
        const i = batch * 1000 + j;
        logged.push({ id: r.event.id, at: Date.parse(r.event.occurredAt), user: `user${i % 10}`, onEntity: i % 4 === 0 });
      });
    }
    // analysts ⊃ juniors; user1 is in analysts directly, user2 through juniors.
    await server.rows(sql`insert into groups (name) values ('analysts'), ('juniors'), ('user1'), ('user2'), ('others')`);
    await server.rows(sql`insert into groups (name, personal) values ('p-user3', true)`);
    await server.rows(sql`insert into groups_relations (parent_id, child_id)
      select p.id, c.id from groups p, groups c
      where (p.name, c.name) in (('analysts', 'juniors'), ('analysts', 'user1'), ('juniors', 'user2'), ('others', 'p-user3'))`);
    await server.rows(sql`update users set group_id = (select id from groups where name = users.login) where login in ('user1', 'user2')`);
    await server.rows(sql`update users set group_id = (select id from groups where name = 'p-user3') where login = 'user3'`);
  });

  it('has no gap and no duplicate, newest first', async () => {
    const expected = [...logged].sort(newestFirst).map((e) => e.id);
    const ids = await pageThrough(null);
    expect(ids.length).toBe(10_000);
    expect(new Set(ids).size).toBe(10_000);
    expect(ids).toEqual(expected);
  });

  it('does the same filtered by entity', async () => {
    const expected = logged.filter((e) => e.onEntity).sort(newestFirst).map((e) => e.id);
    const ids = await pageThrough({ entity: { type: 'query', id: 'Q1' } });
    expect(expected.length).toBe(2500);
    expect(ids).toEqual(expected);
  });

  it('does the same filtered by group, counting members of child groups', async () => {
    const expected = logged.filter((e) => e.user === 'user1' || e.user === 'user2').sort(newestFirst).map((e) => e.id);
    const ids = await pageThrough({ group: 'analysts' });
    expect(expected.length).toBe(2000);
    expect(ids).toEqual(expected);
    const juniors = await pageThrough({ group: 'juniors' });
    expect(juniors.length).toBe(1000);
  });

  it('combines filters and rejects bad paging arguments with codes', async () => {
    const res = await server.gql(EVENTS, { filter: { user: 'user4', entity: { type: 'query', id: 'Q1' } }, first: 500 });
    const expected = logged.filter((e) => e.user === 'user4' && e.onEntity).length;
    expect(res.data.events.edges.length).toBe(expected);
    expect((await server.gql(EVENTS, { first: 501 })).errors?.[0]?.extensions?.code).toBe('PAGE_TOO_LARGE');
    expect((await server.gql(EVENTS, { first: -1 })).errors?.[0]?.extensions?.code).toBe('PAGE_TOO_LARGE');
    expect((await server.gql(EVENTS, { after: 'garbage!' })).errors?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
  });
});

describe('filters', () => {
  beforeAll(async () => {
    const res = await server.gql(LOG_BATCH, {
      events: [
        { type: 'project-opened', message: 'Opened Budget 2026', source: 'UI', user: 'fay', parameters: { project: { type: 'project', id: 'budget' } } },
        { type: 'error', message: 'Budget failed to load', source: 'CLIENT', user: 'fay', errorMessage: 'boom' },
        { type: 'connection-created', message: 'New 100% connection', source: 'API', user: 'gus' },
      ],
    });
    expect(res.data.logBatch.recorded).toBe(3);
  });

  const messages = async (filter: Record<string, unknown>) =>
    (await server.gql(`query($f: EventFilter) { events(filter: $f, first: 500) { nodes { message } } }`, { f: filter })).data.events.nodes.map(
      (n: { message: string }) => n.message,
    );

  it('by types, categories, sources, errors and text', async () => {
    expect(await messages({ types: ['project-opened', 'connection-created'] })).toEqual(['New 100% connection', 'Opened Budget 2026']);
    expect(await messages({ categories: ['connection'] })).toEqual(['New 100% connection']);
    expect(await messages({ sources: ['UI', 'CLIENT'], user: 'fay' })).toEqual(['Budget failed to load', 'Opened Budget 2026']);
    expect(await messages({ errorsOnly: true })).toEqual(['Budget failed to load']);
    expect(await messages({ text: 'budget' })).toEqual(['Budget failed to load', 'Opened Budget 2026']);
    // LIKE wildcards in the text are taken literally.
    expect(await messages({ text: '100%' })).toEqual(['New 100% connection']);
    expect(await messages({ text: '_' })).toEqual([]);
  });

  it('by time range: since inclusive, until exclusive', async () => {
    const at = '2026-01-10T10:00:00.000Z';
    await server.gql(LOG_BATCH, { events: [{ type: 'log', message: 'at the edge', occurredAt: at, user: 'hal' }] });
    expect(await messages({ user: 'hal', since: at })).toEqual(['at the edge']);
    expect(await messages({ user: 'hal', until: at })).toEqual([]);
    expect(await messages({ user: 'hal', since: '2026-01-10T10:00:00.001Z' })).toEqual([]);
  });
});

describe('entity activity and usage', () => {
  it('activity(days: 7) leaves out an event from 8 days ago; usage counts by type, user and day', async () => {
    const day = 86_400_000;
    const ref = { type: 'dataset', id: 'ds-7', name: 'Orders' };
    await server.gql(LOG_BATCH, {
      events: [
        { type: 'table-produced', message: 'eight days ago', user: 'ann', occurredAt: new Date(Date.now() - 8 * day).toISOString(), parameters: { output: ref } },
        { type: 'table-produced', message: 'six days ago', user: 'ann', occurredAt: new Date(Date.now() - 6 * day).toISOString(), parameters: { output: ref } },
        { type: 'entity-shared', message: 'today', user: 'bob', parameters: { entity: ref } },
        { type: 'entity-shared', message: 'today, other entity', user: 'bob', parameters: { entity: { type: 'dataset', id: 'other' } } },
      ],
    });
    const res = await server.gql(`{ entity(type: "dataset", id: "ds-7") {
      id type name
      week: activity(days: 7) { nodes { message } }
      fortnight: activity(days: 14) { nodes { message } }
      usage(days: 7) { total distinctUsers byType { key count } byUser { key count } byDay { key count } } } }`);
    expect(res.errors).toBeUndefined();
    const entity = res.data.entity;
    expect(entity).toMatchObject({ id: 'ds-7', type: 'dataset', name: 'Orders' });
    expect(entity.week.nodes.map((n: { message: string }) => n.message)).toEqual(['today', 'six days ago']);
    expect(entity.fortnight.nodes.map((n: { message: string }) => n.message)).toEqual(['today', 'six days ago', 'eight days ago']);
    expect(entity.usage).toMatchObject({ total: 2, distinctUsers: 2 });
    expect(entity.usage.byType).toEqual([
      { key: 'entity-shared', count: 1 },
      { key: 'table-produced', count: 1 },
    ]);
    expect(entity.usage.byUser).toEqual([
      { key: 'ann', count: 1 },
      { key: 'bob', count: 1 },
    ]);
    expect(entity.usage.byDay.length).toBe(2);
    expect(entity.usage.byDay.map((d: { count: number }) => d.count)).toEqual([1, 1]);
    const missing = await server.gql(`{ entity(type: "dataset", id: "nope") { id } }`);
    expect(missing.data.entity).toBeNull();
    const bad = await server.gql(`{ entity(type: "dataset", id: "ds-7") { activity(days: 0) { nodes { id } } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('entity activity across monthly partitions', () => {
  const ACTIVITY = `query($id: ID!, $first: Int, $after: String) { entity(type: "report", id: $id) {
    activity(days: 3660, first: $first, after: $after) { edges { cursor node { id occurredAt params } } pageInfo { hasNextPage endCursor } } } }`;
  // The last three monthly boundaries before the current month (UTC): events on them, a millisecond
  // either side, and spread over the months between.
  const now = new Date();
  const monthStart = (back: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1);
  const logged: Logged[] = [];

  beforeAll(async () => {
    const times: number[] = [];
    for (const back of [1, 2, 3]) {
      const edge = monthStart(back);
      times.push(edge, edge, edge - 1, edge + 1, edge - 1, edge + 86_400_000 * 3, edge - 86_400_000 * 5);
    }
    for (let i = 0; i < 40; i++) times.push(monthStart(4) + i * 2 * 86_400_000 + i);
    const events = times.map((at, i) => ({
      type: 'viewer-rendered',
      user: `viewer${i % 3}`,
      occurredAt: new Date(at).toISOString(),
      // Every third event names the report twice (two parameters); every fifth names it in a list.
      parameters: {
        report: { type: 'report', id: 'R1' },
        ...(i % 3 === 0 ? { source: { type: 'report', id: 'R1' } } : {}),
        ...(i % 5 === 0 ? { also: [{ type: 'report', id: 'R2' }, { type: 'report', id: 'R1' }] } : {}),
        n: i,
      },
    }));
    // Events about another report in the same moments, which must not show.
    const others = times.map((at) => ({ type: 'viewer-rendered', occurredAt: new Date(at).toISOString(), parameters: { report: { type: 'report', id: 'R3' } } }));
    const res = await server.gql(LOG_BATCH, { events: [...events, ...others] });
    expect(res.errors).toBeUndefined();
    res.data.logBatch.results.slice(0, events.length).forEach((r: { event: { id: string; occurredAt: string } }, i: number) =>
      logged.push({ id: r.event.id, at: Date.parse(r.event.occurredAt), user: events[i]!.user, onEntity: true }),
    );
    const partitions = await server.services.partitions.months();
    for (const back of [1, 2, 3, 4]) expect(partitions).toContain(new Date(monthStart(back)).toISOString().slice(0, 7));
  });

  it('pages through every event, newest first, once each, across month boundaries', async () => {
    const expected = [...logged].sort(newestFirst).map((e) => e.id);
    for (const first of [1, 7, 50]) {
      const ids: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 200; pages++) {
        const res: GraphQLResponse = await server.gql(ACTIVITY, { id: 'R1', first, after });
        expect(res.errors).toBeUndefined();
        const { edges, pageInfo } = res.data.entity.activity;
        expect(edges.length).toBeLessThanOrEqual(first);
        ids.push(...edges.map((e: { node: { id: string } }) => e.node.id));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      expect(ids.length).toBe(expected.length);
      expect(ids).toEqual(expected);
    }
  });

  it('gives each event its parameters, entity references included', async () => {
    const res = await server.gql(ACTIVITY, { id: 'R1', first: 500 });
    const nodes = res.data.entity.activity.edges.map((e: { node: { params: Record<string, unknown> } }) => e.node.params);
    expect(nodes.length).toBe(logged.length);
    const byN = new Map(nodes.map((p: Record<string, unknown>) => [Number(p.n), p]));
    expect(byN.get(15)).toEqual({
      report: { type: 'report', id: 'R1', name: null },
      source: { type: 'report', id: 'R1', name: null },
      also: [{ type: 'report', id: 'R2', name: null }, { type: 'report', id: 'R1', name: null }],
      n: '15',
    });
    expect(byN.get(1)).toEqual({ report: { type: 'report', id: 'R1', name: null }, n: '1' });
  });

  it('a time range across a boundary reads both months, in order', async () => {
    const edge = monthStart(2);
    const since = new Date(edge - 86_400_000 * 6).toISOString();
    const until = new Date(edge + 86_400_000 * 4).toISOString();
    const expected = logged.filter((e) => e.at >= Date.parse(since) && e.at < Date.parse(until)).sort(newestFirst).map((e) => e.id);
    expect(expected.length).toBeGreaterThanOrEqual(7); // the ones planted around the boundary, and some of the spread
    const res = await server.gql(EVENTS, { filter: { entity: { type: 'report', id: 'R1' }, since, until }, first: 100 });
    expect(res.data.events.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(expected);
    const byUser = await server.gql(EVENTS, { filter: { user: 'viewer1', types: ['viewer-rendered'], since, until }, first: 100 });
    expect(byUser.data.events.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(
      logged.filter((e) => e.user === 'viewer1' && e.at >= Date.parse(since) && e.at < Date.parse(until)).sort(newestFirst).map((e) => e.id),
    );
  });
});
