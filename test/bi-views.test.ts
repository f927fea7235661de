import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

const REFERENCE = readFileSync('/work/shared/reference/dataworld-audit-events.txt', 'utf8');
/** The reference's sample queries, in the order the document gives them. */
const SAMPLES = REFERENCE.split('\n')
  .map((line) => line.trim())
  .filter((line) => line.startsWith('SELECT '));

/**
 * The only adaptation: data.world's DATE_PARSE(text, 'yyyy-MM-dd') is PostgreSQL's
 * to_date(text, 'YYYY-MM-DD'). The test's own data stands in for the dates and URIs.
 */
function adapt(query: string, values: { date?: string; target?: string; predicate?: string }): string {
  let q = query.replace(/DATE_PARSE\('(\d{4}-\d{2}-\d{2})',\s*'yyyy-MM-dd'\)/g, (_m, date: string) => `to_date('${values.date ?? date}', 'YYYY-MM-DD')`);
  if (values.target) q = q.replace(/\{some (target )?resource (URI|IRI)\}/g, values.target);
  if (values.predicate) q = q.replace('{some predicate URI}', values.predicate);
  return q;
}

const run = <T = Record<string, unknown>>(query: string) => server.rows<T>(sql.raw(query));

const RECORD = `mutation($input: RecordChangesInput!) { recordChanges(input: $input, actor: "alice") { event { id occurredAt } } }`;
const DS = 'https://catalog.example/dataset/sales';
const TITLE = 'http://purl.org/dc/terms/title';
let today: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  await server.rows(sql`insert into users (login) values ('alice'), ('bob'), ('sam')`);
  await server.rows(sql`insert into groups (name) values ('stewards'), ('p-sam')`);
  await server.rows(sql`insert into groups_relations (parent_id, child_id) select p.id, c.id from groups p, groups c where p.name = 'stewards' and c.name = 'p-sam'`);
  await server.rows(sql`update users set group_id = (select id from groups where name = 'p-sam') where login = 'sam'`);
  const record = async (target: string, type: string, changes: unknown[]) => {
    const res = await server.gql(RECORD, { input: { target: { type: 'dataset', id: target }, type, source: 'UI', changes } });
    expect(res.errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 5));
    return res.data.recordChanges.event;
  };
  const created = await record(DS, 'resource.create', [
    { field: TITLE, value: 'Sales', language: 'en' },
    { action: 'ADD', field: 'http://www.w3.org/ns/dcat#keyword', value: 'finance' },
  ]);
  ids.created = created.id;
  today = created.occurredAt.slice(0, 10);
  await record('https://catalog.example/dataset/costs', 'resource.create', [{ field: TITLE, value: 'Costs' }]);
  await record('https://catalog.example/dataset/people', 'resource.create', [{ field: TITLE, value: 'People' }]);
  ids.updated = (await record(DS, 'resource.update', [{ field: TITLE, value: 'Sales by region', language: 'en' }])).id;

  const propose = async (actor: string, target: string, value: string) => {
    const res = await server.gql(
      `mutation($t: ID!, $v: String!, $a: String!) { proposeSuggestion(target: { type: "dataset", id: $t }, changes: [{ field: "${TITLE}", value: $v, dataType: "string" }], approverGroup: "stewards", actor: $a) { id proposalEvent { id } } }`,
      { t: target, v: value, a: actor },
    );
    expect(res.errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 5));
    return res.data.proposeSuggestion;
  };
  const first = await propose('bob', DS, 'Regional sales');
  await propose('alice', DS, 'Sales (regions)');
  await propose('alice', 'https://catalog.example/dataset/costs', 'Costs 2026');
  ids.suggestion = first.id;
  ids.proposal = first.proposalEvent.id;
  const approved = await server.gql(`mutation($id: ID!) { approveSuggestion(id: $id, actor: "sam") { decisionEvent { id } appliedEvent { id } } }`, { id: first.id });
  expect(approved.errors).toBeUndefined();
  ids.approve = approved.data.approveSuggestion.decisionEvent.id;
  ids.applied = approved.data.approveSuggestion.appliedEvent.id;
});
afterAll(() => server?.stop());

describe('BI views with data.world’s column names', () => {
  it('finds the six sample queries in the reference', () => {
    expect(SAMPLES.length).toBe(6);
  });

  it('counts the resources created on a date', async () => {
    const rows = await run<{ new_resources_cnt: number }>(adapt(SAMPLES[0]!, { date: today }));
    expect(rows.map((r) => Number(r.new_resources_cnt))).toEqual([3]);
    const otherDay = await run<{ new_resources_cnt: number }>(adapt(SAMPLES[0]!, {}));
    expect(Number(otherDay[0]!.new_resources_cnt)).toBe(0);
  });

  it('lists every activity on a target resource, newest first', async () => {
    const rows = await run<Record<string, unknown>>(adapt(SAMPLES[1]!, { target: DS }));
    // Approving records its step and the applied changeset in one transaction, at one timestamp.
    expect(rows.slice(0, 2).map((r) => [String(r.id), r.event_type]).sort()).toEqual([
      [ids.approve, 'suggestion.approve'],
      [ids.applied, 'changeset.applied'],
    ].sort());
    expect(rows.slice(2).map((r) => [String(r.id), r.event_type])).toEqual([
      [expect.any(String), 'suggestion.create'],
      [ids.proposal, 'suggestion.create'],
      [ids.updated, 'resource.update'],
      [ids.created, 'resource.create'],
    ]);
    expect(rows[5]).toMatchObject({ agentid: 'alice', source: 'UI', target_resource: DS, type_iris: ['dataset'], suggestion_id: null });
    expect(rows[5]!.predicates).toEqual(['http://purl.org/dc/terms/title', 'http://www.w3.org/ns/dcat#keyword']);
    const approveRow = rows.find((r) => r.event_type === 'suggestion.approve');
    expect(approveRow).toMatchObject({ suggestion_id: ids.suggestion, suggestion_requestor: 'bob', suggestion_approver: 'stewards', suggestion_completedby: 'sam', predicates: [TITLE] });
    expect(rows[3]).toMatchObject({ suggestion_requestor: 'bob', suggestion_completedby: null });
    expect(String(rows[5]!.event_date_utc instanceof Date ? (rows[5]!.event_date_utc as Date).toISOString().slice(0, 10) : rows[5]!.event_date_utc)).toBe(today);
  });

  it('lists suggestion requestors, approvers and targets of a date, by target then requestor', async () => {
    const rows = await run(adapt(SAMPLES[2]!, { date: today }));
    expect(rows).toEqual([
      { suggestion_requestor: 'alice', suggestion_approver: 'stewards', target_resource: 'https://catalog.example/dataset/costs' },
      { suggestion_requestor: 'alice', suggestion_approver: 'stewards', target_resource: DS },
      { suggestion_requestor: 'bob', suggestion_approver: 'stewards', target_resource: DS },
    ]);
  });

  it('lists the change details of a target resource, newest first, in sequence', async () => {
    const rows = await run<Record<string, unknown>>(adapt(SAMPLES[3]!, { target: DS }));
    expect(rows.map((r) => [r.event_type, r.change_type, r.action, r.changeset_predicate, r.current_value, r.value, Number(r.change_sequence_no)])).toEqual([
      ['suggestion.approve', 'approve', 'set', TITLE, 'Sales by region', 'Regional sales', 1],
      ['suggestion.create', 'propose', 'set', TITLE, 'Sales by region', 'Sales (regions)', 1],
      ['suggestion.create', 'propose', 'set', TITLE, 'Sales by region', 'Regional sales', 1],
      ['resource.update', 'apply', 'set', TITLE, 'Sales', 'Sales by region', 1],
      ['resource.create', 'apply', 'set', TITLE, null, 'Sales', 1],
      ['resource.create', 'apply', 'add', 'http://www.w3.org/ns/dcat#keyword', null, 'finance', 2],
    ]);
    expect([String(rows[0]!.event_id), String(rows[0]!.changeset_event_id)]).toEqual([ids.approve, ids.applied]);
    expect(rows[0]).toMatchObject({ data_type: 'string', field_type: 'literal', agentid: 'sam' });
    expect(rows[4]).toMatchObject({ language: 'en', source: 'UI', type_iris: ['dataset'] });
  });

  it('lists the proposed suggestions of a date, by target resource', async () => {
    const rows = await run<Record<string, unknown>>(adapt(SAMPLES[4]!, { date: today }));
    expect(rows.map((r) => r.target_resource)).toEqual(['https://catalog.example/dataset/costs', DS, DS]);
    expect(rows.every((r) => r.event_type === 'suggestion.create' && r.change_type === 'propose')).toBe(true);
  });

  it('lists the approved changes of a target resource and predicate', async () => {
    const rows = await run<Record<string, unknown>>(adapt(SAMPLES[5]!, { target: DS, predicate: TITLE }));
    expect(rows.map((r) => [String(r.event_id), String(r.changeset_event_id), r.current_value, r.value])).toEqual([
      [ids.approve, ids.applied, 'Sales by region', 'Regional sales'],
    ]);
  });
});
