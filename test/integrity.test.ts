import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const ids: string[] = [];
beforeAll(async () => {
  server = await startTestServer();
  const batch = await server.gql(`mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`, {
    events: Array.from({ length: 5 }, (_, i) => ({
      type: 'query-start',
      user: `u${i}`,
      message: `batch ${i}`,
      durationMs: i * 1.5,
      parameters: { query: { type: 'query', id: `q${i % 2}` }, rows: i, tags: ['a', 'b'] },
    })),
  });
  ids.push(...batch.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id));
  for (let i = 0; i < 3; i++) {
    const one = await server.gql(`mutation { log(input: { type: "error", message: "single ${i}", stackTrace: "Error\\n at x (a.js:1:2)" }) { event { id } } }`);
    ids.push(one.data.log.event.id);
  }
});
afterAll(() => server?.stop());

const VERIFY = `query($since: DateTime, $until: DateTime) { verifyIntegrity(since: $since, until: $until) { ok batches events head firstBroken { kind batch eventId message } } }`;
const verify = async (variables: Record<string, unknown> = {}) => (await server.gql(VERIFY, variables)).data.verifyIntegrity;

describe('tamper evidence', () => {
  it('verifies an untouched log, every event of it', async () => {
    const report = await verify();
    expect(report.ok).toBe(true);
    expect(report.firstBroken).toBeNull();
    const [counts] = await server.rows<{ events: number; batches: number }>(
      sql`select (select count(*) from events)::int as events, (select count(*) from event_batches)::int as batches`,
    );
    expect(report.events).toBe(counts!.events);
    expect(report.batches).toBe(counts!.batches);
    expect(report.head).toMatch(/^[0-9a-f]{64}$/);
    const none = await verify({ since: '2000-01-01T00:00:00Z', until: '2000-01-02T00:00:00Z' });
    expect(none).toMatchObject({ ok: true, batches: 0, events: 0 });
  });

  it('finds an UPDATE made directly in SQL, to an event or to one of its parameters', async () => {
    const target = ids[2]!;
    await server.rows(sql`update events set description = 'rewritten' where id = ${target}`);
    expect((await verify()).firstBroken).toMatchObject({ kind: 'event-changed', eventId: target });
    await server.rows(sql`update events set description = 'batch 2' where id = ${target}`);
    expect((await verify()).ok).toBe(true);

    await server.rows(sql`update event_parameter_values set value = '999' where event_id = ${ids[3]!} and value = '3'`);
    expect((await verify()).firstBroken).toMatchObject({ kind: 'event-changed', eventId: ids[3] });
    await server.rows(sql`update event_parameter_values set value = '3' where event_id = ${ids[3]!} and value = '999'`);
    expect((await verify()).ok).toBe(true);
  });

  it('finds a DELETE made directly in SQL', async () => {
    const target = ids[6]!;
    await server.rows(sql`create table saved_event as select * from events where id = ${target}`);
    await server.rows(sql`delete from events where id = ${target}`);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ kind: 'event-deleted', eventId: target });
    await server.rows(sql`insert into events select * from saved_event`);
    await server.rows(sql`drop table saved_event`);
    expect((await verify()).ok).toBe(true);
  });

  it('finds an INSERT made directly in SQL', async () => {
    const [row] = await server.rows<{ id: string }>(sql`
      insert into events (id, occurred_at, event_type_id, source, description)
      values (nextval('events_id_seq'), now(), (select id from event_types where name = 'log'), 'API', 'forged')
      returning id::text as id`);
    const report = await verify();
    expect(report.firstBroken).toMatchObject({ kind: 'event-unsealed', eventId: row!.id });
    await server.rows(sql`delete from events where id = ${row!.id}`);
    expect((await verify()).ok).toBe(true);
  });

  it('finds a seal rewritten or a batch removed', async () => {
    const [saved] = await server.rows<{ hash: string }>(sql`select hash from event_hashes where event_id = ${ids[0]!}`);
    await server.rows(sql`update event_hashes set hash = repeat('f', 64) where event_id = ${ids[0]!}`);
    expect((await verify()).firstBroken).toMatchObject({ kind: 'event-changed', eventId: ids[0] });
    await server.rows(sql`update event_hashes set hash = ${saved!.hash} where event_id = ${ids[0]!}`);
    expect((await verify()).ok).toBe(true);

    await server.rows(sql`create table saved_batch as select * from event_batches where seq = 2`);
    await server.rows(sql`delete from event_batches where seq = 2`);
    expect((await verify()).firstBroken).toMatchObject({ kind: 'batch-missing', batch: 2 });
    await server.rows(sql`insert into event_batches select * from saved_batch`);
    await server.rows(sql`drop table saved_batch`);
    expect((await verify()).ok).toBe(true);
  });

  it('walks batches in number order past the ninth (10 after 9, not after 1)', async () => {
    for (let i = 0; i < 10; i++) await server.gql(`mutation { log(input: { message: "more ${i}" }) { recorded } }`);
    const [{ n }] = (await server.rows<{ n: number }>(sql`select count(*)::int as n from event_batches`)) as [{ n: number }];
    expect(n).toBeGreaterThan(10);
    expect(await verify()).toMatchObject({ ok: true, batches: n });
  });

  it('prints the report from the CLI and exits 2 when broken (PostgreSQL mode)', async () => {
    if (!server.databaseUrl) return; // an embedded in-memory database has one owner: the test server
    await server.rows(sql`update events set description = 'cli sees this' where id = ${ids[1]!}`);
    const run = promisify(execFile);
    const result = await run('npx', ['tsx', 'src/cli/index.ts', 'verify'], { env: { ...process.env, DATABASE_URL: server.databaseUrl } }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).firstBroken).toMatchObject({ kind: 'event-changed', eventId: ids[1] });
  });
});
