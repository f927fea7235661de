import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actingUser } from '../src/changes/changesets.js';
import { printedSchema } from '../src/graphql/index.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const CHANGESET = `event { id type user occurredAt params } version changes { sequence action field value previousValue dataType language } reverts { id }`;
const RECORD = `mutation($input: RecordChangesInput!, $actor: String) { recordChanges(input: $input, actor: $actor) { ${CHANGESET} } }`;
const REVERT = `mutation($eventId: ID, $entity: EntityRefInput, $to: DateTime, $force: Boolean) {
  revertChanges(eventId: $eventId, entity: $entity, to: $to, force: $force, actor: "admin") { ${CHANGESET} } }`;
const STATE = `query($type: String!, $id: ID!, $at: DateTime) { entity(type: $type, id: $id) { stateAt(at: $at) { at version values fields { field value values { value dataType language } } } } }`;
const CHANGES = `query($type: String!, $id: ID!, $first: Int, $after: String) {
  entity(type: $type, id: $id) { changes(first: $first, after: $after) { nodes { ${CHANGESET} } pageInfo { hasNextPage endCursor } } } }`;

const DATASET = { type: 'dataset', id: 'https://data.example/d/sales' };
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

async function record(changes: unknown[], type = 'resource.update', target = DATASET) {
  const res = await server.gql(RECORD, { input: { target, type, source: 'UI', changes }, actor: 'alice' });
  expect(res.errors).toBeUndefined();
  await pause();
  return res.data.recordChanges;
}

async function state(at?: string | null, target = DATASET) {
  const res = await server.gql(STATE, { ...target, at: at ?? null });
  expect(res.errors).toBeUndefined();
  return res.data.entity.stateAt;
}

async function counts() {
  const [row] = await server.rows<{ events: number; changes: number }>(
    sql`select (select count(*)::int from events) as events, (select count(*)::int from event_changes) as changes`,
  );
  return row!;
}

describe('changesets and state', () => {
  const ev: Array<{ event: { id: string; occurredAt: string }; changes: Array<Record<string, unknown>> }> = [];
  let before: string;

  beforeAll(async () => {
    before = new Date().toISOString();
    await pause();
    ev.push(
      await record(
        [
          { action: 'SET', field: 'title', value: 'Sales', dataType: 'string', language: 'en' },
          { action: 'ADD', field: 'tags', value: 'finance' },
          { action: 'ADD', field: 'tags', value: 'monthly' },
          { action: 'SET', field: 'description', value: 'Monthly sales' },
        ],
        'resource.create',
      ),
    );
    ev.push(
      await record([
        { action: 'SET', field: 'title', value: 'Sales by region', language: 'en' },
        { action: 'REMOVE', field: 'tags', value: 'finance' },
        { action: 'ADD', field: 'tags', value: 'regions' },
        { action: 'SET', field: 'description', value: null },
      ]),
    );
    ev.push(
      await record([
        { action: 'SET', field: 'title', value: 'Regional sales', language: 'en' },
        { action: 'ADD', field: 'tags', value: 'ventes', language: 'fr' },
      ]),
    );
  });

  it('stores each change in sequence with the previous value from the state it replaced', () => {
    expect(ev.map((e) => e.event)).toMatchObject([{ type: 'resource.create', user: 'alice' }, { type: 'resource.update' }, { type: 'resource.update' }]);
    expect(ev[0]!.changes.map((c) => [c.sequence, c.action, c.field, c.value, c.previousValue])).toEqual([
      [1, 'SET', 'title', 'Sales', null],
      [2, 'ADD', 'tags', 'finance', null],
      [3, 'ADD', 'tags', 'monthly', null],
      [4, 'SET', 'description', 'Monthly sales', null],
    ]);
    expect(ev[1]!.changes.map((c) => [c.action, c.field, c.value, c.previousValue])).toEqual([
      ['SET', 'title', 'Sales by region', 'Sales'],
      ['REMOVE', 'tags', 'finance', 'finance'],
      ['ADD', 'tags', 'regions', null],
      ['SET', 'description', null, 'Monthly sales'],
    ]);
    expect(ev[2]!.changes[0]).toMatchObject({ previousValue: 'Sales by region', language: 'en' });
    expect(ev[0]!.changes[0]).toMatchObject({ dataType: 'string', language: 'en' });
  });

  it('rebuilds stateAt at three moments, and the current state without at', async () => {
    expect(await state(before)).toMatchObject({ version: 0, values: {} });
    expect(await state(ev[0]!.event.occurredAt)).toMatchObject({
      version: 1,
      values: { title: 'Sales', tags: ['finance', 'monthly'], description: 'Monthly sales' },
    });
    expect(await state(ev[1]!.event.occurredAt)).toMatchObject({ version: 2, values: { title: 'Sales by region', tags: ['monthly', 'regions'] } });
    const third = await state(ev[2]!.event.occurredAt);
    expect(third).toMatchObject({ version: 3, values: { title: 'Regional sales', tags: ['monthly', 'regions', 'ventes'] } });
    expect(third.fields.find((f: { field: string }) => f.field === 'tags').values[2]).toEqual({ value: 'ventes', dataType: null, language: 'fr' });
    const current = await state(null);
    expect(current).toMatchObject({ at: null, version: 3 });
    expect(current.fields).toEqual(third.fields);
  });

  it('lists the changesets newest first, page by page, and shows them in the entity activity', async () => {
    const first = await server.gql(CHANGES, { ...DATASET, first: 2 });
    expect(first.errors).toBeUndefined();
    const page1 = first.data.entity.changes;
    expect(page1.nodes.map((n: { event: { id: string } }) => n.event.id)).toEqual([ev[2]!.event.id, ev[1]!.event.id]);
    expect(page1.nodes.map((n: { version: number }) => n.version)).toEqual([3, 2]);
    expect(page1.nodes[1].changes.map((c: { sequence: number }) => c.sequence)).toEqual([1, 2, 3, 4]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await server.gql(CHANGES, { ...DATASET, first: 2, after: page1.pageInfo.endCursor });
    expect(second.data.entity.changes.nodes.map((n: { event: { id: string } }) => n.event.id)).toEqual([ev[0]!.event.id]);
    expect(second.data.entity.changes.pageInfo.hasNextPage).toBe(false);

    const activity = await server.gql(`{ entity(type: "dataset", id: "${DATASET.id}") { activity(days: 1) { nodes { id type } } } }`);
    expect(activity.data.entity.activity.nodes.map((n: { id: string }) => n.id)).toEqual(ev.map((e) => e.event.id).reverse());
  });

  it('refuses bad changes and workflow types, writing nothing', async () => {
    const start = await counts();
    const cases: Array<[unknown[], string, string]> = [
      [[], 'resource.update', 'BAD_USER_INPUT'],
      [[{ action: 'ADD', field: 'tags' }], 'resource.update', 'BAD_USER_INPUT'],
      [[{ field: ' ', value: 'x' }], 'resource.update', 'BAD_USER_INPUT'],
      [[{ field: 'title', value: 'x' }], 'suggestion.approve', 'INVALID_EVENT_TYPE'],
      [[{ field: 'title', value: 'x'.repeat(10_001) }], 'resource.update', 'VALUE_TOO_LONG'],
    ];
    for (const [changes, type, code] of cases) {
      const res = await server.gql(RECORD, { input: { target: DATASET, type, changes } });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(changes).slice(0, 80)).toBe(code);
    }
    expect(await counts()).toEqual(start);
  });

  it('gives concurrent writers of one entity each their own previous value', async () => {
    const target = { type: 'dataset', id: 'counter' };
    // Known entity first, so the writers below do not serialise on creating it, only on its lock.
    const seed = await record([{ field: 'n', value: 'start' }], 'resource.create', target);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.gql(RECORD, { input: { target, changes: [{ field: 'n', value: String(i) }] } })),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    const sets = results.map((r) => r.data.recordChanges).sort((a, b) => a.version - b.version);
    expect(sets.map((s) => s.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    // Each changeset replaced exactly what the one before it set: a chain, no value read twice.
    const chain = [seed, ...sets];
    sets.forEach((s, i) => expect(s.changes[0].previousValue).toBe(chain[i]!.changes[0].value));
    expect((await state(null, target)).values).toEqual({ n: sets[19].changes[0].value });
  });
});

describe('revert', () => {
  const target = { type: 'glossary-term', id: 'revenue' };
  const ids: string[] = [];
  const times: string[] = [];

  beforeAll(async () => {
    for (const changes of [
      [{ field: 'definition', value: 'Money in' }, { action: 'ADD', field: 'synonyms', value: 'income' }],
      [{ field: 'definition', value: 'Money earned' }, { field: 'owner', value: 'finance' }],
      [{ field: 'owner', value: 'sales' }, { action: 'ADD', field: 'synonyms', value: 'turnover' }],
    ]) {
      const set = await record(changes, 'resource.update', target);
      ids.push(set.event.id);
      times.push(set.event.occurredAt);
    }
  });

  it('restores the previous values with a new changeset linked to the reverted one', async () => {
    const res = await server.gql(REVERT, { eventId: ids[2] });
    expect(res.errors).toBeUndefined();
    const revert = res.data.revertChanges;
    expect(revert.reverts).toEqual({ id: ids[2] });
    expect(revert.event).toMatchObject({ type: 'resource.update', user: 'admin', params: { reverts: ids[2] } });
    expect(revert.version).toBe(4);
    expect(revert.changes.map((c: Record<string, unknown>) => [c.action, c.field, c.value, c.previousValue])).toEqual([
      ['SET', 'owner', 'finance', 'sales'],
      ['REMOVE', 'synonyms', 'turnover', 'turnover'],
    ]);
    expect((await state(null, target)).values).toEqual({ definition: 'Money earned', owner: 'finance', synonyms: 'income' });
    await pause();
    // History is not edited: the reverted changeset is still there, under the revert.
    const history = await server.gql(CHANGES, { ...target, first: 10 });
    expect(history.data.entity.changes.nodes.map((n: { event: { id: string } }) => n.event.id)).toEqual([revert.event.id, ids[2], ids[1], ids[0]]);
    expect(await state(times[2], target)).toMatchObject({ values: { owner: 'sales', synonyms: ['income', 'turnover'] } });
  });

  it('refuses a revert whose fields changed since, naming the field and the later event, and writes nothing', async () => {
    const start = await counts();
    const res = await server.gql(REVERT, { eventId: ids[1] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'REVERT_CONFLICT', field: 'owner', laterEventId: ids[2] });
    expect(res.errors?.[0]?.message).toContain('"owner"');
    expect(res.errors?.[0]?.message).toContain(ids[2]);
    expect(await counts()).toEqual(start);
  });

  it('records a forced revert: the fields go back to before the event', async () => {
    const res = await server.gql(REVERT, { eventId: ids[1], force: true });
    expect(res.errors).toBeUndefined();
    expect(res.data.revertChanges.changes.map((c: Record<string, unknown>) => [c.action, c.field, c.value])).toEqual([
      ['SET', 'definition', 'Money in'],
      ['SET', 'owner', null],
    ]);
    expect((await state(null, target)).values).toEqual({ definition: 'Money in', synonyms: 'income' });
    await pause();
  });

  it('restores the state of a moment', async () => {
    const res = await server.gql(REVERT, { entity: target, to: times[2] });
    expect(res.errors).toBeUndefined();
    expect(res.data.revertChanges.event.params).toEqual({ target: { ...target, name: null }, revertedTo: times[2] });
    const now = await state(null, target);
    expect(now.values).toEqual((await state(times[2], target)).values);
    expect(now.values).toEqual({ definition: 'Money earned', owner: 'sales', synonyms: ['income', 'turnover'] });
    const again = await server.gql(REVERT, { entity: target, to: times[2] });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOTHING_TO_REVERT');
  });

  it('explains what cannot be reverted', async () => {
    const logged = await server.gql(`mutation { log(input: { type: "query-start" }) { event { id } } }`);
    const plain = await server.gql(REVERT, { eventId: logged.data.log.event.id });
    expect(plain.errors?.[0]?.extensions?.code).toBe('NOT_A_CHANGESET');
    expect((await server.gql(REVERT, { eventId: '999999999' })).errors?.[0]?.extensions?.code).toBe('NOT_A_CHANGESET');
    expect((await server.gql(REVERT, { entity: { type: 'dataset', id: 'nope' }, to: times[0] })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await server.gql(REVERT, {})).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the acting user', () => {
  it('is the credential’s user, else the actor argument; a bound credential cannot name someone else', () => {
    expect(actingUser('alice', null, false)).toEqual({ actor: 'alice', isAdmin: false });
    expect(actingUser('alice', 'alice', true)).toEqual({ actor: 'alice', isAdmin: true });
    expect(actingUser(null, ' bob ', false)).toEqual({ actor: 'bob', isAdmin: false });
    expect(actingUser(null, null, false)).toEqual({ actor: null, isAdmin: false });
    expect(() => actingUser('alice', 'bob', true)).toThrow(expect.objectContaining({ code: 'ACTOR_MISMATCH' }));
  });
});

describe('the contract', () => {
  it('has the design’s root fields for changes and suggestions', () => {
    const printed = printedSchema();
    for (const field of ['recordChanges(', 'revertChanges(', 'proposeSuggestion(', 'approveSuggestion(', 'rejectSuggestion(', 'cancelSuggestion(', 'suggestions(', 'suggestionUpdates(', 'changes(', 'stateAt(']) {
      expect(printed).toContain(`  ${field}`);
    }
  });
});
