import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`;
const DAY1 = '2026-09-01T10:00:00Z';
const DAY2 = '2026-09-02T10:00:00Z';

async function logAll(events: unknown[]) {
  for (let i = 0; i < events.length; i += 500) {
    const res = await server.gql(LOG_BATCH, { events: events.slice(i, i + 500) });
    expect(res.errors).toBeUndefined();
  }
}

/** Groups by SQL: staff ⊃ {analysts, engineers}; alice, bob in analysts; carol in engineers; dave in none. */
async function plantGroups() {
  await server.rows(sql`insert into groups (name) values ('staff'), ('analysts'), ('engineers')`);
  await server.rows(sql`insert into groups_relations (parent_id, child_id)
    select p.id, c.id from groups p, groups c where p.name = 'staff' and c.name in ('analysts', 'engineers')`);
  for (const [login, group] of [['alice', 'analysts'], ['bob', 'analysts'], ['carol', 'engineers']]) {
    await server.rows(sql`with g as (insert into groups (name, personal) values (${`user:${login}`}, true) returning id)
      update users set group_id = (select id from g) where login = ${login}`);
    await server.rows(sql`insert into groups_relations (parent_id, child_id)
      select p.id, c.id from groups p, groups c where p.name = ${group} and c.name = ${`user:${login}`}`);
  }
}

// query-start durations 1..100 ms (1–50 on day 1, 51–100 on day 2), alternating two queries; script-start 10, 20, 40.
const queryRuns = Array.from({ length: 100 }, (_, i) => ({
  type: 'query-start',
  user: ['alice', 'bob', 'carol'][i % 3],
  occurredAt: i < 50 ? DAY1 : DAY2,
  durationMs: i + 1,
  parameters: { query: { type: 'query', id: i % 2 ? 'q1' : 'q2', name: i % 2 ? 'Sales' : 'Costs' } },
}));
const scriptRuns = [10, 20, 40].map((ms, i) => ({
  type: 'script-start',
  user: 'dave',
  occurredAt: DAY2,
  durationMs: ms,
  parameters: { script: { type: 'script', id: 's1', name: 'normalize' }, 'input.table': `t${i}`, 'output.rows': String(100 * (i + 1)) },
  ...(i === 2 ? { errorMessage: 'out of memory' } : {}),
}));
const clicks = [
  ...Array.from({ length: 5 }, () => ({ type: 'main-menu-item-click', user: 'alice', occurredAt: DAY1, parameters: { item: 'File | Open' } })),
  ...Array.from({ length: 2 }, () => ({ type: 'main-menu-item-click', user: 'bob', occurredAt: DAY1, parameters: { item: 'File | Save' } })),
  { type: 'main-menu-item-click', user: 'carol', occurredAt: DAY2, parameters: { item: 'Help | About' } },
];
const all = [...queryRuns, ...scriptRuns, ...clicks];

beforeAll(async () => {
  await logAll(all);
  await plantGroups();
});

describe('performance', () => {
  const PERF = `query($f: EventFilter, $g: PerformanceGroupBy) { performance(filter: $f, groupBy: $g) {
    key count avgMs p50Ms p95Ms p99Ms maxMs byDay { day count p50Ms p99Ms maxMs } } }`;

  it('gives count, mean, percentiles and max per type, equal to percentile_cont on the same rows', async () => {
    const res = await server.gql(PERF, {});
    expect(res.errors).toBeUndefined();
    const [query, script] = res.data.performance;
    const [expected] = await server.rows<{ p50: number; p95: number; p99: number }>(sql`
      select percentile_cont(0.5) within group (order by duration_ms) as p50, percentile_cont(0.95) within group (order by duration_ms) as p95,
             percentile_cont(0.99) within group (order by duration_ms) as p99
      from events where event_type_id = (select id from event_types where name = 'query-start')`);
    expect(query).toMatchObject({ key: 'query-start', count: 100, avgMs: 50.5, maxMs: 100, p50Ms: Number(expected!.p50), p95Ms: Number(expected!.p95), p99Ms: Number(expected!.p99) });
    expect([query.p50Ms, query.p95Ms, query.p99Ms]).toEqual([50.5, 95.05, 99.01]);
    const perDay = await server.rows<{ day: string; count: number; p50: number; p99: number; max: number }>(sql`
      select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*)::int as count,
             percentile_cont(0.5) within group (order by duration_ms) as p50, percentile_cont(0.99) within group (order by duration_ms) as p99,
             max(duration_ms) as max
      from events where event_type_id = (select id from event_types where name = 'query-start') group by 1 order by 1`);
    expect(query.byDay).toEqual(perDay.map((d) => ({ day: d.day, count: Number(d.count), p50Ms: Number(d.p50), p99Ms: Number(d.p99), maxMs: Number(d.max) })));
    expect(query.byDay.map((d: any) => [d.day, d.count, d.p50Ms, d.maxMs])).toEqual([['2026-09-01', 50, 25.5, 50], ['2026-09-02', 50, 75.5, 100]]);
    expect(query.byDay[1].p99Ms).toBeCloseTo(99.51, 9);
    expect(script).toMatchObject({ key: 'script-start', count: 3, p50Ms: 20, maxMs: 40 });
    expect(script.avgMs).toBeCloseTo(70 / 3, 10);
  });

  it('groups by function name and honours the filter', async () => {
    const res = await server.gql(PERF, { g: 'FUNCTION', f: { types: ['query-start'], user: 'alice' } });
    const aliceRuns = queryRuns.filter((r) => r.user === 'alice');
    const sales = aliceRuns.filter((r) => r.parameters.query.name === 'Sales').map((r) => r.durationMs);
    const costs = aliceRuns.filter((r) => r.parameters.query.name === 'Costs').map((r) => r.durationMs);
    expect(res.data.performance.map((p: any) => [p.key, p.count, p.maxMs])).toEqual(
      [['Costs', costs.length, Math.max(...costs)], ['Sales', sales.length, Math.max(...sales)]].sort((a, b) => Number(b[1]) - Number(a[1]) || String(a[0]).localeCompare(String(b[0]))),
    );
  });
});

describe('usage', () => {
  const USAGE = `query($f: EventFilter, $g: UsageDimension, $first: Int, $after: String) { usage(filter: $f, groupBy: $g, first: $first, after: $after) {
    groupBy total distinctUsers rows { nodes { key count distinctUsers } pageInfo { hasNextPage endCursor } } } }`;
  const count = (pick: (e: any) => string | null) => {
    const map = new Map<string, { count: number; users: Set<string> }>();
    for (const e of all as any[]) {
      const key = pick(e);
      if (key === null) continue;
      const entry = map.get(key) ?? { count: 0, users: new Set() };
      entry.count++;
      entry.users.add(e.user);
      map.set(key, entry);
    }
    return [...map].map(([key, v]) => ({ key, count: v.count, distinctUsers: v.users.size }));
  };
  const byCount = <T extends { key: string; count: number }>(rows: T[]) => rows.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));

  it('counts and distinct users by type, category, user and day', async () => {
    const type = (await server.gql(USAGE, { g: 'TYPE' })).data.usage;
    expect(type).toMatchObject({ groupBy: 'TYPE', total: all.length, distinctUsers: 4 });
    expect(type.rows.nodes).toEqual(byCount(count((e) => e.type)));
    const category = (await server.gql(USAGE, { g: 'CATEGORY' })).data.usage.rows.nodes;
    expect(category).toEqual(byCount(count((e) => ({ 'query-start': 'query', 'script-start': 'script', 'main-menu-item-click': 'ui' })[e.type as string]!)));
    const user = (await server.gql(USAGE, { g: 'USER' })).data.usage.rows.nodes;
    expect(user).toEqual(byCount(count((e) => e.user)));
    const day = (await server.gql(USAGE, { g: 'DAY' })).data.usage.rows.nodes;
    expect(day).toEqual(count((e) => e.occurredAt.slice(0, 10)).sort((a, b) => (a.key < b.key ? -1 : 1)));
    const hour = (await server.gql(USAGE, { g: 'HOUR' })).data.usage.rows.nodes;
    expect(hour.map((r: any) => r.key)).toEqual(['2026-09-01T10', '2026-09-02T10']);
  });

  it('rolls groups up through child groups, counts entity types, and pages', async () => {
    const groups = (await server.gql(USAGE, { g: 'GROUP' })).data.usage.rows.nodes;
    const inGroup = (names: string[]) => count((e) => (names.includes(e.user) ? 'x' : null))[0]!;
    expect(groups).toEqual(
      byCount([
        { key: 'staff', count: inGroup(['alice', 'bob', 'carol']).count, distinctUsers: 3 },
        { key: 'analysts', count: inGroup(['alice', 'bob']).count, distinctUsers: 2 },
        { key: 'engineers', count: inGroup(['carol']).count, distinctUsers: 1 },
      ]),
    );
    const entities = (await server.gql(USAGE, { g: 'ENTITY_TYPE' })).data.usage.rows.nodes;
    expect(entities).toEqual([
      { key: 'query', count: 100, distinctUsers: 3 },
      { key: 'script', count: 3, distinctUsers: 1 },
    ]);
    const first = (await server.gql(USAGE, { g: 'USER', first: 2 })).data.usage.rows;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await server.gql(USAGE, { g: 'USER', first: 2, after: first.pageInfo.endCursor })).data.usage.rows;
    expect([...first.nodes, ...rest.nodes]).toEqual(byCount(count((e) => e.user)));
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('ranks menu items from least to most used, unused first', async () => {
    const MENU = `query($f: EventFilter, $items: [String!]) { menuItemUsage(filter: $f, items: $items) { nodes { item count distinctUsers lastUsed } } }`;
    const res = await server.gql(MENU, { items: ['Tools | Unused', 'File | Open'] });
    expect(res.errors).toBeUndefined();
    expect(res.data.menuItemUsage.nodes).toEqual([
      { item: 'Tools | Unused', count: 0, distinctUsers: 0, lastUsed: null },
      { item: 'Help | About', count: 1, distinctUsers: 1, lastUsed: '2026-09-02T10:00:00.000Z' },
      { item: 'File | Save', count: 2, distinctUsers: 1, lastUsed: '2026-09-01T10:00:00.000Z' },
      { item: 'File | Open', count: 5, distinctUsers: 1, lastUsed: '2026-09-01T10:00:00.000Z' },
    ]);
    // On day 2 only Help | About was used: the items clicked before count as unused then.
    const day2 = await server.gql(MENU, { f: { since: DAY2 } });
    expect(day2.data.menuItemUsage.nodes.map((n: any) => [n.item, n.count])).toEqual([
      ['File | Open', 0],
      ['File | Save', 0],
      ['Help | About', 1],
    ]);
  });
});

describe('functionUsage', () => {
  const CALLS = `query($name: String, $f: EventFilter) { functionUsage(name: $name, filter: $f) { nodes { function type user durationMs inputs outputs error } } }`;

  it('lists every call of a function type with inputs, outputs, duration and error', async () => {
    const res = await server.gql(CALLS, { name: 'normalize' });
    expect(res.errors).toBeUndefined();
    const calls = res.data.functionUsage.nodes;
    expect(calls).toHaveLength(3);
    expect(calls.map((c: any) => c.durationMs).sort((a: number, b: number) => a - b)).toEqual([10, 20, 40]);
    const failed = calls.find((c: any) => c.durationMs === 40);
    expect(failed).toEqual({
      function: 'normalize',
      type: 'script-start',
      user: 'dave',
      durationMs: 40,
      inputs: { script: { type: 'script', id: 's1', name: 'normalize' }, table: 't2' },
      outputs: { rows: '300' },
      error: 'out of memory',
    });
    expect(calls.filter((c: any) => c.error === null)).toHaveLength(2);
    const byType = await server.gql(CALLS, { name: 'query-start', f: { user: 'carol' } });
    expect(byType.data.functionUsage.nodes).toHaveLength(queryRuns.filter((r) => r.user === 'carol').length);
  });

  it('counts a custom type with declared inputs and outputs as a function; other custom types not', async () => {
    const declared = await server.gql(`mutation { declareFunctionParameters(type: "model-train", inputs: ["dataset"], outputs: ["accuracy"]) }`);
    expect(declared.data.declareFunctionParameters).toBe(true);
    const both = await server.gql(`mutation { declareFunctionParameters(type: "model-train", inputs: ["x"], outputs: ["x"]) }`);
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await logAll([
      { type: 'model-train', user: 'erin', durationMs: 5, parameters: { dataset: 'iris', accuracy: '0.97', function: 'train-iris' } },
      { type: 'plain-thing', user: 'erin', parameters: { dataset: 'iris' } },
    ]);
    const res = await server.gql(CALLS, { f: { user: 'erin' } });
    expect(res.data.functionUsage.nodes).toEqual([
      { function: 'train-iris', type: 'model-train', user: 'erin', durationMs: 5, inputs: { dataset: 'iris', function: 'train-iris' }, outputs: { accuracy: '0.97' }, error: null },
    ]);
  });
});
