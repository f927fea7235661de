import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

/** Three planted populations, each in its own group; heavy and light users in each (×1 to ×6). */
const populations: Record<string, string[]> = {
  analysts: ['query-start', 'query-edited', 'query-created'],
  scientists: ['script-start', 'predictive-model-start', 'notebook-edited'],
  designers: ['viewer-rendered', 'main-menu-item-click', 'tutorial-completed'],
};
const members = Object.fromEntries(Object.keys(populations).map((group) => [group, Array.from({ length: 6 }, (_, i) => `${group.slice(0, 3)}-${i}`)]));

beforeAll(async () => {
  server = await startTestServer();
  const events: unknown[] = [];
  const others = Object.values(populations).flat();
  for (const [group, types] of Object.entries(populations)) {
    members[group]!.forEach((user, i) => {
      const weight = i + 1;
      types.forEach((type, t) => {
        for (let n = 0; n < weight * (4 - t); n++) events.push({ type, user, occurredAt: '2026-05-01T00:00:00Z' });
      });
      // A little noise: one event of a type from another population.
      events.push({ type: others[(i * 5 + group.length) % others.length], user, occurredAt: '2026-05-01T00:00:00Z' });
    });
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await server.gql(`mutation($e: [LogInput!]!) { logBatch(events: $e) { recorded } }`, { e: events.slice(i, i + 500) });
    expect(res.errors).toBeUndefined();
  }
  await server.rows(sql`insert into groups (name) values ('analysts'), ('scientists'), ('designers'), ('everyone')`);
  await server.rows(sql`insert into groups_relations (parent_id, child_id)
    select p.id, c.id from groups p, groups c where p.name = 'everyone' and c.name in ('analysts', 'scientists', 'designers')`);
  for (const [group, logins] of Object.entries(members)) {
    for (const login of logins) {
      await server.rows(sql`with g as (insert into groups (name, personal) values (${`user:${login}`}, true) returning id)
        update users set group_id = (select id from g) where login = ${login}`);
      await server.rows(sql`insert into groups_relations (parent_id, child_id)
        select p.id, c.id from groups p, groups c where p.name = ${group} and c.name = ${`user:${login}`}`);
    }
  }
});
afterAll(() => server?.stop());

const PATTERNS = `query($k: Int, $f: EventFilter) { usagePatterns(clusters: $k, filter: $f) { users eventTypes
  clusters { index users characteristicTypes { type share lift } groups { group members membersInCluster share lift } } } }`;

describe('usagePatterns', () => {
  it('finds the three planted populations as three clusters, each lining up with its group', async () => {
    const res = await server.gql(PATTERNS, { k: 3 });
    expect(res.errors).toBeUndefined();
    const { users, clusters } = res.data.usagePatterns;
    expect(users).toBe(18);
    expect(clusters).toHaveLength(3);
    const found = new Set<string>();
    for (const cluster of clusters) {
      const [top, ...rest] = cluster.groups;
      // The best-correlated group holds exactly this cluster's users: share 1, lift 3 (base rate 1/3).
      expect(top).toEqual({ group: top.group, members: 6, membersInCluster: 6, share: 1, lift: 3 });
      expect(cluster.users).toEqual([...members[top.group]!].sort());
      expect(populations[top.group]).toContain(cluster.characteristicTypes[0].type);
      // The parent group holds everyone: share 1/3, lift 1.
      expect(rest.find((g: any) => g.group === 'everyone')).toEqual({ group: 'everyone', members: 18, membersInCluster: 6, share: 1 / 3, lift: 1 });
      found.add(top.group);
    }
    expect(found).toEqual(new Set(Object.keys(populations)));
  });

  it('is deterministic: the same input gives the same output', async () => {
    const a = await server.gql(PATTERNS, { k: 3 });
    const b = await server.gql(PATTERNS, { k: 3 });
    expect(b.data).toEqual(a.data);
    const four = await server.gql(PATTERNS, { k: 4 });
    expect(four.data.usagePatterns.clusters.flatMap((c: any) => c.users).sort()).toEqual(Object.values(members).flat().sort());
  });

  it('checks the number of clusters and honours the filter', async () => {
    for (const k of [0, 51]) expect((await server.gql(PATTERNS, { k })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await server.gql(PATTERNS, { k: 2, f: { user: 'ana-0' } });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const none = await server.gql(PATTERNS, { k: 2, f: { user: 'nobody' } });
    expect(none.data.usagePatterns).toEqual({ users: 0, eventTypes: [], clusters: [] });
  });
});
