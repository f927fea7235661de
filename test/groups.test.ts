import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const UPSERT = `mutation($name: String!, $description: String) { upsertGroup(name: $name, description: $description) { name description } }`;
const SET_MEMBERS = `mutation($group: String!, $users: [String!], $groups: [String!]) {
  setGroupMembers(group: $group, users: $users, groups: $groups) { name users { login } groups { name } allUsers { login } } }`;
const GROUP = `query($name: String!) { group(name: $name) { name description users { login } groups { name } allUsers { login } } }`;

async function relationCount() {
  const [row] = await server.rows<{ n: number }>(sql`select count(*)::int as n from groups_relations`);
  return row!.n;
}

describe('groups', () => {
  it('creates a group, then changes its description, and lists groups by name', async () => {
    const created = await server.gql(UPSERT, { name: 'sales', description: 'Sales people' });
    expect(created.errors).toBeUndefined();
    expect(created.data.upsertGroup).toEqual({ name: 'sales', description: 'Sales people' });
    const updated = await server.gql(UPSERT, { name: 'sales', description: 'Everyone in sales' });
    expect(updated.data.upsertGroup).toEqual({ name: 'sales', description: 'Everyone in sales' });
    await server.gql(UPSERT, { name: 'engineering' });
    const list = await server.gql(`{ groups { name description } }`);
    expect(list.data.groups).toEqual([
      { name: 'engineering', description: null },
      { name: 'sales', description: 'Everyone in sales' },
    ]);
    const [row] = await server.rows<{ n: number }>(sql`select count(*)::int as n from groups where name = 'sales'`);
    expect(row!.n).toBe(1);
  });

  it('sets direct members; users of child groups are members at any depth; personal groups stay hidden', async () => {
    for (const name of ['company', 'emea', 'emea-sales']) await server.gql(UPSERT, { name });
    const leaf = await server.gql(SET_MEMBERS, { group: 'emea-sales', users: ['zoe', 'yann'] });
    expect(leaf.errors).toBeUndefined();
    expect(leaf.data.setGroupMembers.users).toEqual([{ login: 'yann' }, { login: 'zoe' }]);
    await server.gql(SET_MEMBERS, { group: 'emea', users: ['xavier'], groups: ['emea-sales'] });
    const top = await server.gql(SET_MEMBERS, { group: 'company', users: ['walt'], groups: ['emea'] });
    expect(top.data.setGroupMembers).toEqual({
      name: 'company',
      users: [{ login: 'walt' }],
      groups: [{ name: 'emea' }],
      allUsers: [{ login: 'walt' }, { login: 'xavier' }, { login: 'yann' }, { login: 'zoe' }],
    });
    const names = (await server.gql(`{ groups { name } }`)).data.groups.map((g: { name: string }) => g.name);
    expect(names).toEqual(['company', 'emea', 'emea-sales', 'engineering', 'sales']);
    const personal = await server.rows<{ name: string }>(sql`select name from groups where personal order by name`);
    expect(personal.map((p) => p.name)).toEqual(['user:walt', 'user:xavier', 'user:yann', 'user:zoe']);

    // The events filter by group sees the same transitive membership.
    await server.gql(`mutation { logBatch(events: [{ user: "zoe", message: "z" }, { user: "bob", message: "b" }]) { recorded } }`);
    const events = await server.gql(`{ events(filter: { group: "company" }) { nodes { user } } }`);
    expect(events.data.events.nodes.map((n: { user: string }) => n.user)).toEqual(['zoe']);
  });

  it('replaces the direct members', async () => {
    await server.gql(SET_MEMBERS, { group: 'emea-sales', users: ['zoe', 'vera'] });
    const res = await server.gql(GROUP, { name: 'emea-sales' });
    expect(res.data.group.users).toEqual([{ login: 'vera' }, { login: 'zoe' }]);
    const company = await server.gql(GROUP, { name: 'company' });
    expect(company.data.group.allUsers.map((u: { login: string }) => u.login)).toEqual(['vera', 'walt', 'xavier', 'zoe']);
    const cleared = await server.gql(SET_MEMBERS, { group: 'emea-sales' });
    expect(cleared.data.setGroupMembers).toMatchObject({ users: [], groups: [], allUsers: [] });
    await server.gql(SET_MEMBERS, { group: 'emea-sales', users: ['zoe', 'yann'] });
  });

  it('refuses a cycle, naming its path, and changes nothing', async () => {
    const before = await relationCount();
    const cycle = await server.gql(SET_MEMBERS, { group: 'emea-sales', users: ['zoe'], groups: ['company'] });
    expect(cycle.data).toBeNull();
    expect(cycle.errors?.[0]?.extensions).toMatchObject({ code: 'GROUP_CYCLE', path: ['emea-sales', 'company', 'emea', 'emea-sales'] });
    expect(cycle.errors?.[0]?.message).toContain('emea-sales → company → emea → emea-sales');
    const self = await server.gql(SET_MEMBERS, { group: 'sales', groups: ['sales'] });
    expect(self.errors?.[0]?.extensions).toMatchObject({ code: 'GROUP_CYCLE', path: ['sales', 'sales'] });
    expect(await relationCount()).toBe(before);
    const leaf = await server.gql(GROUP, { name: 'emea-sales' });
    expect(leaf.data.group.users).toEqual([{ login: 'yann' }, { login: 'zoe' }]);
  });

  it('refuses unknown groups and reserved names', async () => {
    const unknownChild = await server.gql(SET_MEMBERS, { group: 'sales', groups: ['nope'] });
    expect(unknownChild.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'groups' });
    const unknownGroup = await server.gql(SET_MEMBERS, { group: 'nope', users: ['a'] });
    expect(unknownGroup.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const reserved = await server.gql(UPSERT, { name: 'user:zoe' });
    expect(reserved.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const asChild = await server.gql(SET_MEMBERS, { group: 'sales', groups: ['user:zoe'] });
    expect(asChild.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await server.gql(GROUP, { name: 'nope' })).data.group).toBeNull();
  });

  it('records every group change as an audit event with the state before and after', async () => {
    const res = await server.gql(`{ events(filter: { categories: ["user-management"] }, first: 100) { nodes { type params } } }`);
    const nodes = res.data.events.nodes as Array<{ type: string; params: Record<string, any> }>;
    const created = nodes.filter((n) => n.type === 'group-created').map((n) => n.params.group.id);
    expect(created.sort()).toEqual(['company', 'emea', 'emea-sales', 'engineering', 'sales']);
    expect(nodes.filter((n) => n.type === 'group-updated')).toHaveLength(1);
    // Newest first: the last change of emea-sales put zoe and yann back after clearing it.
    const last = nodes.find((n) => n.type === 'group-members-changed' && n.params.group.id === 'emea-sales')!;
    expect(JSON.parse(last.params.before)).toEqual({ users: [], groups: [] });
    expect(JSON.parse(last.params.after)).toEqual({ users: ['yann', 'zoe'], groups: [] });
    expect(nodes.filter((n) => n.type === 'group-members-changed')).toHaveLength(6);
  });
});
