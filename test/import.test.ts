import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLines } from '../src/export/import.js';
import { DATAMEER_ACTIONS, datameerLines, fieldValue, user } from './helpers/datameer.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MAX_BATCH_SIZE: '20' });
});
afterAll(() => server?.stop());

async function* linesOf(lines: string[]) {
  yield* lines;
}

const run = (lines: string[]) => importLines(server.services.db, server.services.ingestor, linesOf(lines), { batchSize: 20 });
const eventCount = async () => (await server.rows<{ n: number }>(sql`select count(*)::int as n from events`))[0]!.n;

const EVENTS = `query($after: String) { events(first: 500, after: $after) { nodes { type category user message occurredAt source params } pageInfo { hasNextPage endCursor } } }`;

describe('import of a Datameer user-action log', () => {
  const lines = datameerLines();
  const extra = [
    'this is not JSON',
    '',
    '[1, 2]',
    JSON.stringify({ timestamp: '2018-08-02 13:00:00', 'action-type': 'JOB', action: 'TELEPORT', 'performed-by-user': 'anna' }),
    JSON.stringify({ type: 'Bad Type!', message: 'not a type name' }),
    JSON.stringify({ type: 'log', message: 'a line in our own format', user: 'carla', timestamp: '2018-08-03T00:00:00.000Z', params: { query: { type: 'query', id: '42', name: 'Sales' } } }),
  ];

  it('maps every action of the reference to its event type, with users, roles, IP addresses and parameters', async () => {
    const summary = await run([...lines.slice(0, 30), ...extra, ...lines.slice(30)]);
    expect(summary).toMatchObject({ read: lines.length + extra.length - 1, stored: lines.length + 1, skipped: 4 });
    expect(summary.reasons).toEqual({
      'not JSON': 1,
      'not a JSON object': 1,
      'unknown Datameer action JOB TELEPORT': 1,
      'INVALID_EVENT_TYPE in type': 1,
    });
    expect(summary.examples.map((e) => e.line)).toEqual([31, 33, 34, 35]);

    const nodes: any[] = [];
    let after: string | null = null;
    do {
      const res: any = await server.gql(EVENTS, { after });
      nodes.push(...res.data.events.nodes);
      after = res.data.events.pageInfo.hasNextPage ? res.data.events.pageInfo.endCursor : null;
    } while (after);
    const byTime = new Map(nodes.map((n) => [n.occurredAt, n]));

    DATAMEER_ACTIONS.forEach(([actionType, action, fields, expected], row) => {
      const record = JSON.parse(lines[row]!);
      const event = byTime.get(new Date(`${record.timestamp.replace(' ', 'T')}Z`).toISOString());
      expect(event, `${actionType} ${action}`).toBeDefined();
      expect(event.type, `${actionType} ${action}`).toBe(expected);
      expect(event.source).toBe('SERVER');
      expect(event.message).toMatch(new RegExp(`^${actionType} ${action}`));
      const failed = expected === 'failed-login' || expected === 'login-disabled-account';
      expect(event.user).toBe(failed ? `user-name-${row}` : user(row));
      expect(event.params.ipAddress).toBe(`10.1.0.${row}`);
      expect(JSON.parse(event.params.roles)).toEqual(failed ? [] : row % 2 === 0 ? ['ADMIN', 'ANALYST'] : ['ANALYST']);
      for (const field of fields) {
        const value = fieldValue(field, row);
        expect(event.params[field], `${expected}.${field}`).toBe(typeof value === 'string' ? value : JSON.stringify(value));
      }
      // Fields the action does not use (null in the record) are not stored.
      expect(event.params['root-uuid']).toBeUndefined();
    });

    // Categories follow the action types.
    const categories = new Set(nodes.filter((n) => n.user !== 'carla').map((n) => n.category));
    expect([...categories].sort()).toEqual(['authentication', 'filesystem', 'job', 'permission', 'user-management', 'workbook']);
    // Files, folders and workbooks are entities with the imported actions in their history.
    const file = await server.gql(`{ entity(type: "file", id: "file-uuid-0") { name activity(days: 3660) { nodes { type } } } }`);
    expect(file.data.entity).toEqual({ name: '/home/analyst/file-path-0', activity: { nodes: [{ type: 'file-created' }] } });
    const folder = await server.gql(`{ entity(type: "folder", id: "/home/analyst/folder-path-5") { activity(days: 3660) { nodes { type } } } }`);
    expect(folder.data.entity.activity.nodes).toEqual([{ type: 'folder-created' }]);
    // Users keep the roles of their latest record.
    const roles = await server.rows<{ login: string; roles: string[] }>(sql`select login, roles from users where login in ('anna', 'ben') order by login`);
    expect(roles).toEqual([
      { login: 'anna', roles: ['ADMIN', 'ANALYST'] },
      { login: 'ben', roles: ['ANALYST'] },
    ]);
    // Our own line format imports too.
    const own = nodes.find((n) => n.user === 'carla');
    expect(own).toMatchObject({ type: 'log', occurredAt: '2018-08-03T00:00:00.000Z', params: { query: { type: 'query', id: '42', name: 'Sales' } } });
  });

  it('stores nothing when the same file is imported again', async () => {
    const before = await eventCount();
    const summary = await run([...lines.slice(0, 30), ...extra, ...lines.slice(30)]);
    expect(summary).toMatchObject({ read: lines.length + extra.length - 1, stored: 0, skipped: lines.length + extra.length - 1 });
    expect(summary.reasons['already stored']).toBe(lines.length + 1);
    expect(await eventCount()).toBe(before);
  });
});
