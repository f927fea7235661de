import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveSuggestion, rejectSuggestion } from '../src/changes/suggestions.js';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  // stewards ⊃ junior-stewards; sam is a steward directly, jo through junior-stewards; eve is in neither.
  await server.rows(sql`insert into users (login) values ('alice'), ('sam'), ('jo'), ('eve'), ('bob')`);
  await server.rows(sql`insert into groups (name) values ('stewards'), ('junior-stewards'), ('others')`);
  await server.rows(sql`insert into groups (name, personal) values ('p-sam', true), ('p-jo', true), ('p-eve', true)`);
  await server.rows(sql`insert into groups_relations (parent_id, child_id)
    select p.id, c.id from groups p, groups c
    where (p.name, c.name) in (('stewards', 'junior-stewards'), ('stewards', 'p-sam'), ('junior-stewards', 'p-jo'), ('others', 'p-eve'))`);
  await server.rows(sql`update users set group_id = (select id from groups where name = 'p-' || users.login) where login in ('sam', 'jo', 'eve')`);
  const created = await server.gql(
    `mutation { recordChanges(input: { target: { type: "table", id: "t1" }, type: "resource.create", changes: [{ field: "title", value: "Orders" }] }) { version } }`,
  );
  expect(created.errors).toBeUndefined();
});
afterAll(() => server?.stop());

const SUGGESTION = `id status requestor approverGroup completedBy comment reason target { type id }
  changes { action field value language } proposalEvent { type user params } decisionEvent { type user } appliedEvent { id type user params }`;
const PROPOSE = `mutation($changes: [ChangeInput!]!, $actor: String, $group: String!, $target: EntityRefInput!) {
  proposeSuggestion(target: $target, changes: $changes, approverGroup: $group, comment: "Clearer title", actor: $actor) { ${SUGGESTION} } }`;
const APPROVE = `mutation($id: ID!, $actor: String) { approveSuggestion(id: $id, actor: $actor) { ${SUGGESTION} } }`;
const REJECT = `mutation($id: ID!, $actor: String) { rejectSuggestion(id: $id, reason: "Not needed", actor: $actor) { ${SUGGESTION} } }`;
const CANCEL = `mutation($id: ID!, $actor: String) { cancelSuggestion(id: $id, actor: $actor) { ${SUGGESTION} } }`;
const TABLE = { type: 'table', id: 't1' };
const TITLE = [
  { field: 'title', value: 'Customer orders', language: 'en' },
  { action: 'ADD', field: 'tags', value: 'gold' },
];

async function propose(changes: unknown[] = TITLE, actor = 'alice', target = TABLE) {
  const res = await server.gql(PROPOSE, { changes, actor, group: 'stewards', target });
  expect(res.errors).toBeUndefined();
  return res.data.proposeSuggestion;
}

async function currentValues(target = TABLE) {
  const res = await server.gql(`query($type: String!, $id: ID!) { entity(type: $type, id: $id) { stateAt { values } } }`, target);
  return res.data.entity.stateAt.values;
}

async function counts() {
  const [row] = await server.rows<{ events: number; changes: number; decided: number }>(
    sql`select (select count(*)::int from events) as events, (select count(*)::int from event_changes) as changes,
               (select count(*)::int from suggestions where status <> 'PROPOSED') as decided`,
  );
  return row!;
}

const code = (res: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => res.errors?.[0]?.extensions?.code;
const deps = () => server.services;

describe('suggestions', () => {
  it('records a proposal without changing the state', async () => {
    const s = await propose();
    expect(s).toMatchObject({
      status: 'PROPOSED',
      requestor: 'alice',
      approverGroup: 'stewards',
      completedBy: null,
      comment: 'Clearer title',
      target: TABLE,
      changes: [
        { action: 'SET', field: 'title', value: 'Customer orders', language: 'en' },
        { action: 'ADD', field: 'tags', value: 'gold', language: null },
      ],
      proposalEvent: { type: 'suggestion.create', user: 'alice', params: { suggestion: s.id, status: 'PROPOSED', approverGroup: 'stewards' } },
      decisionEvent: null,
    });
    expect(await currentValues()).toEqual({ title: 'Orders' });
  });

  it('lets only members of the approver group (or an administrator) decide, and only the requestor cancel', async () => {
    const s = await propose();
    const start = await counts();
    await expect(approveSuggestion(deps(), s.id, null, { actor: 'eve', isAdmin: false })).rejects.toMatchObject({ code: 'NOT_AN_APPROVER' });
    await expect(rejectSuggestion(deps(), s.id, null, { actor: 'bob', isAdmin: false })).rejects.toMatchObject({ code: 'NOT_AN_APPROVER' });
    expect(code(await server.gql(CANCEL, { id: s.id, actor: 'sam' }))).toBe('NOT_THE_REQUESTOR');
    expect(code(await server.gql(APPROVE, { id: s.id }))).toBe('ACTOR_REQUIRED');
    expect(code(await server.gql(APPROVE, { id: '00000000-0000-4000-8000-000000000000', actor: 'sam' }))).toBe('NOT_FOUND');
    expect(await counts()).toEqual(start);
    expect(await currentValues()).toEqual({ title: 'Orders' });
  });

  it('applies an approved suggestion as a changeset.applied event, once', async () => {
    const s = await propose();
    // jo is a steward through the child group junior-stewards.
    const approved = await approveSuggestion(deps(), s.id, 'Looks right', { actor: 'jo', isAdmin: false });
    expect(approved).toMatchObject({ status: 'APPROVED', completedBy: 'jo', reason: 'Looks right' });
    expect(await currentValues()).toEqual({ title: 'Customer orders', tags: 'gold' });

    const read = await server.gql(`query($id: String!) { suggestions(filter: { requestor: $id, statuses: [APPROVED] }) { nodes { ${SUGGESTION} } } }`, { id: 'alice' });
    const node = read.data.suggestions.nodes[0];
    expect(node.decisionEvent).toEqual({ type: 'suggestion.approve', user: 'jo' });
    expect(node.appliedEvent).toMatchObject({ type: 'changeset.applied', user: 'jo', params: { completedBy: 'jo', suggestion: s.id } });
    const changes = await server.gql(`{ entity(type: "table", id: "t1") { changes(first: 1) { nodes { event { id type } changes { field value previousValue } } } } }`);
    expect(changes.data.entity.changes.nodes[0]).toEqual({
      event: { id: node.appliedEvent.id, type: 'changeset.applied' },
      changes: [
        { field: 'title', value: 'Customer orders', previousValue: 'Orders' },
        { field: 'tags', value: 'gold', previousValue: null },
      ],
    });

    const start = await counts();
    expect(code(await server.gql(APPROVE, { id: s.id, actor: 'sam' }))).toBe('SUGGESTION_ALREADY_DECIDED');
    expect(code(await server.gql(REJECT, { id: s.id, actor: 'sam' }))).toBe('SUGGESTION_ALREADY_DECIDED');
    expect(code(await server.gql(CANCEL, { id: s.id, actor: 'alice' }))).toBe('SUGGESTION_ALREADY_DECIDED');
    expect(await counts()).toEqual(start);
  });

  it('decides once when two approvals race', async () => {
    const s = await propose([{ field: 'owner', value: 'ops' }]);
    const results = await Promise.all([server.gql(APPROVE, { id: s.id, actor: 'sam' }), server.gql(APPROVE, { id: s.id, actor: 'jo' })]);
    expect(results.map(code).sort()).toEqual(['SUGGESTION_ALREADY_DECIDED', undefined]);
    const [applied] = await server.rows<{ n: number }>(
      sql`select count(*)::int as n from event_changes where change_type = 'approve' and field = 'owner'`,
    );
    expect(applied!.n).toBe(1);
  });

  it('rejects with a reason and cancels', async () => {
    const r = await propose([{ field: 'title', value: 'Nope' }]);
    const rejected = await server.gql(REJECT, { id: r.id, actor: 'sam' });
    expect(rejected.data.rejectSuggestion).toMatchObject({ status: 'REJECTED', completedBy: 'sam', reason: 'Not needed', decisionEvent: { type: 'suggestion.reject', user: 'sam' }, appliedEvent: null });
    const c = await propose([{ field: 'title', value: 'Maybe' }], 'bob');
    const cancelled = await server.gql(CANCEL, { id: c.id, actor: 'bob' });
    expect(cancelled.data.cancelSuggestion).toMatchObject({ status: 'CANCELLED', completedBy: 'bob', decisionEvent: { type: 'suggestion.cancel' } });
    expect((await currentValues()).title).toBe('Customer orders');
  });

  it('filters suggestions by status, target, requestor, approver group and time', async () => {
    const other = await propose([{ field: 'title', value: 'Other' }], 'eve', { type: 'table', id: 't2' });
    const list = async (filter: Record<string, unknown>, first = 50) => {
      const res = await server.gql(`query($f: SuggestionFilter, $first: Int) { suggestions(filter: $f, first: $first) { nodes { id status requestor } pageInfo { hasNextPage endCursor } } }`, { f: filter, first });
      expect(res.errors).toBeUndefined();
      return res.data.suggestions;
    };
    const all = (await list({})).nodes;
    expect(all.length).toBe(7);
    expect(all[0].id).toBe(other.id);
    expect((await list({ statuses: ['PROPOSED'] })).nodes.map((n: { status: string }) => n.status)).toEqual(['PROPOSED', 'PROPOSED', 'PROPOSED']);
    expect((await list({ statuses: ['REJECTED', 'CANCELLED'] })).nodes.length).toBe(2);
    expect((await list({ target: { type: 'table', id: 't2' } })).nodes.map((n: { id: string }) => n.id)).toEqual([other.id]);
    expect((await list({ requestor: 'bob' })).nodes.length).toBe(1);
    expect((await list({ approverGroup: 'stewards' })).nodes.length).toBe(7);
    expect((await list({ approverGroup: 'others' })).nodes.length).toBe(0);
    expect((await list({ completedBy: 'bob' })).nodes.map((n: { status: string }) => n.status)).toEqual(['CANCELLED']);
    expect((await list({ since: new Date(Date.now() + 60_000).toISOString() })).nodes.length).toBe(0);
    expect((await list({ until: new Date(Date.now() + 60_000).toISOString() })).nodes.length).toBe(7);
    const page1 = await list({}, 4);
    const page2 = await server.gql(`query($after: String) { suggestions(first: 4, after: $after) { nodes { id } pageInfo { hasNextPage } } }`, { after: page1.pageInfo.endCursor });
    expect([...page1.nodes, ...page2.data.suggestions.nodes].map((n: { id: string }) => n.id)).toEqual(all.map((n: { id: string }) => n.id));
    expect(page2.data.suggestions.pageInfo.hasNextPage).toBe(false);
    const onEntity = await server.gql(`{ entity(type: "table", id: "t1") { suggestions(statuses: [APPROVED]) { nodes { status } } } }`);
    expect(onEntity.data.entity.suggestions.nodes).toEqual([{ status: 'APPROVED' }, { status: 'APPROVED' }]);
  });

  it('refuses a proposal without an actor, an unknown group or no changes', async () => {
    const start = await counts();
    expect(code(await server.gql(PROPOSE, { changes: TITLE, group: 'stewards', target: TABLE }))).toBe('ACTOR_REQUIRED');
    expect(code(await server.gql(PROPOSE, { changes: TITLE, actor: 'alice', group: 'nobody', target: TABLE }))).toBe('NOT_FOUND');
    expect(code(await server.gql(PROPOSE, { changes: [], actor: 'alice', group: 'stewards', target: TABLE }))).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(start);
  });

  it('streams each step live, filtered', async () => {
    const client = server.wsClient();
    const onT3 = subscribe(client, `subscription { suggestionUpdates(filter: { target: { type: "table", id: "t3" } }) { suggestionId status event { type user } suggestion { id } } }`);
    const rejections = subscribe(client, `subscription { suggestionUpdates(filter: { statuses: [REJECTED] }) { suggestionId status } }`);
    await untilSubscribed(server, 2);
    const a = await propose([{ field: 'title', value: 'Live' }], 'alice', { type: 'table', id: 't3' });
    await server.gql(APPROVE, { id: a.id, actor: 'sam' });
    const b = await propose([{ field: 'title', value: 'Elsewhere' }], 'alice', { type: 'table', id: 't4' });
    await server.gql(REJECT, { id: b.id, actor: 'sam' });
    const got = await onT3.waitFor(2);
    expect(got.map((m) => m.data.suggestionUpdates)).toEqual([
      { suggestionId: a.id, status: 'PROPOSED', event: { type: 'suggestion.create', user: 'alice' }, suggestion: { id: a.id } },
      { suggestionId: a.id, status: 'APPROVED', event: { type: 'suggestion.approve', user: 'sam' }, suggestion: { id: a.id } },
    ]);
    expect((await rejections.waitFor(1)).map((m) => m.data.suggestionUpdates)).toEqual([{ suggestionId: b.id, status: 'REJECTED' }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(onT3.received.length).toBe(2);
    expect(rejections.received.length).toBe(1);
  });
});
