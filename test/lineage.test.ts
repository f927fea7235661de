import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  const ds = (id: string) => ({ type: 'dataset', id, name: id.toUpperCase() });
  const events = [
    // raw → clean → features → model-input, plus lookup as a second input of features.
    { type: 'table-produced', user: 'alice', occurredAt: '2026-03-01T00:00:00Z', parameters: { inputs: [ds('raw')], output: ds('clean') } },
    { type: 'table-produced', user: 'bob', occurredAt: '2026-03-02T00:00:00Z', parameters: { inputs: [ds('clean'), ds('lookup')], output: ds('features') } },
    { type: 'table-produced', user: 'carol', occurredAt: '2026-03-03T00:00:00Z', parameters: { input: ds('features'), table: ds('model-input') } },
    // A cycle: a → b → c → a.
    { type: 'table-produced', occurredAt: '2026-03-04T00:00:00Z', parameters: { input: ds('a'), output: ds('b') } },
    { type: 'table-produced', occurredAt: '2026-03-05T00:00:00Z', parameters: { input: ds('b'), output: ds('c') } },
    { type: 'table-produced', occurredAt: '2026-03-06T00:00:00Z', parameters: { input: ds('c'), output: ds('a') } },
    // Modifications of "clean", and events that only read it.
    { type: 'query-edited', user: 'dave', occurredAt: '2026-03-07T00:00:00Z', parameters: { target: ds('clean') } },
    { type: 'project-opened', user: 'dave', occurredAt: '2026-03-08T00:00:00Z', parameters: { target: ds('clean') } },
    { type: 'resource.update', user: 'erin', occurredAt: '2026-03-09T00:00:00Z', parameters: { resource: ds('clean') } },
    { type: 'file-renamed', user: 'frank', occurredAt: '2026-03-10T00:00:00Z', parameters: { file: ds('clean') } },
  ];
  const res = await server.gql(`mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }`, { events });
  expect(res.errors).toBeUndefined();
});
afterAll(() => server?.stop());

const LINEAGE = `query($id: ID!, $depth: Int) { entity(type: "dataset", id: $id) { lineage(depth: $depth) {
  nodes { depth entity { id name } } edges { depth user from { id } to { id } occurredAt } truncated } } }`;

describe('lineage', () => {
  it('returns a three-step chain upstream, nearest first, with who produced each step', async () => {
    const res = await server.gql(LINEAGE, { id: 'model-input' });
    expect(res.errors).toBeUndefined();
    const l = res.data.entity.lineage;
    expect(l.nodes).toEqual([
      { depth: 1, entity: { id: 'features', name: 'FEATURES' } },
      { depth: 2, entity: { id: 'clean', name: 'CLEAN' } },
      { depth: 2, entity: { id: 'lookup', name: 'LOOKUP' } },
      { depth: 3, entity: { id: 'raw', name: 'RAW' } },
    ]);
    expect(l.edges.map((e: any) => [e.depth, e.from.id, e.to.id, e.user])).toEqual([
      [1, 'features', 'model-input', 'carol'],
      [2, 'clean', 'features', 'bob'],
      [2, 'lookup', 'features', 'bob'],
      [3, 'raw', 'clean', 'alice'],
    ]);
    expect(l.truncated).toBe(false);
  });

  it('stops at the depth asked for and says so', async () => {
    const l = (await server.gql(LINEAGE, { id: 'model-input', depth: 2 })).data.entity.lineage;
    expect(l.nodes.map((n: any) => n.entity.id)).toEqual(['features', 'clean', 'lookup']);
    expect(l.truncated).toBe(true);
    const bad = await server.gql(LINEAGE, { id: 'model-input', depth: 0 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('ends a cycle instead of looping', async () => {
    const l = (await server.gql(LINEAGE, { id: 'a', depth: 20 })).data.entity.lineage;
    expect(l.nodes).toEqual([
      { depth: 1, entity: { id: 'c', name: 'C' } },
      { depth: 2, entity: { id: 'b', name: 'B' } },
    ]);
    // The edge a → b closes the cycle: listed once, not followed.
    expect(l.edges.map((e: any) => [e.depth, e.from.id, e.to.id])).toEqual([
      [1, 'c', 'a'],
      [2, 'b', 'c'],
      [3, 'a', 'b'],
    ]);
    expect(l.truncated).toBe(false);
  });

  it('an entity nobody produced has an empty lineage', async () => {
    const l = (await server.gql(LINEAGE, { id: 'raw' })).data.entity.lineage;
    expect(l).toEqual({ nodes: [], edges: [], truncated: false });
  });
});

describe('modifications', () => {
  const MODS = `query($id: ID!, $first: Int, $after: String) { entity(type: "dataset", id: $id) { modifications(first: $first, after: $after) {
    nodes { type user occurredAt } pageInfo { hasNextPage endCursor } } } }`;

  it('lists every event that changed the entity, newest first, with who and when', async () => {
    const res = await server.gql(MODS, { id: 'clean' });
    expect(res.errors).toBeUndefined();
    expect(res.data.entity.modifications.nodes).toEqual([
      { type: 'file-renamed', user: 'frank', occurredAt: '2026-03-10T00:00:00.000Z' },
      { type: 'resource.update', user: 'erin', occurredAt: '2026-03-09T00:00:00.000Z' },
      { type: 'query-edited', user: 'dave', occurredAt: '2026-03-07T00:00:00.000Z' },
      { type: 'table-produced', user: 'alice', occurredAt: '2026-03-01T00:00:00.000Z' },
    ]);
  });

  it('pages', async () => {
    const first = (await server.gql(MODS, { id: 'clean', first: 3 })).data.entity.modifications;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await server.gql(MODS, { id: 'clean', first: 3, after: first.pageInfo.endCursor })).data.entity.modifications;
    expect(rest.nodes.map((n: any) => n.type)).toEqual(['table-produced']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });
});
