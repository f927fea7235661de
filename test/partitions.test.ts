import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expiredMonths } from '../src/retention/retention.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded results { event { id feedCursor } } } }`;
const day = 86_400_000;
const monthStart = (offset: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
};

describe('monthly partitions', () => {
  it('creates this month and the next two ahead of time', async () => {
    const res = await server.gql(`{ retentionPolicy { months partitions } }`);
    const months = res.data.retentionPolicy.partitions as string[];
    for (const offset of [0, 1, 2]) expect(months).toContain(monthStart(offset).toISOString().slice(0, 7));
    expect(res.data.retentionPolicy.months).toBeNull();
  });

  it('finds events of two different months with every query', async () => {
    const ref = { type: 'dataset', id: 'across' };
    // The last millisecond of last month and the first of this one: a partition boundary between them.
    const lastMonth = new Date(monthStart(0).getTime() - 1).toISOString();
    const thisMonth = monthStart(0).toISOString();
    const old = new Date(Date.now() - 400 * day).toISOString();
    const logged = await server.gql(LOG_BATCH, {
      events: [
        { type: 'table-produced', message: 'old', user: 'pat', occurredAt: old, parameters: { output: ref } },
        { type: 'table-produced', message: 'last month', user: 'pat', occurredAt: lastMonth, parameters: { output: ref } },
        { type: 'table-produced', message: 'this month', user: 'pat', occurredAt: thisMonth, parameters: { output: ref } },
      ],
    });
    expect(logged.data.logBatch.recorded).toBe(3);
    const [old_, last_, this_] = logged.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
    const partitions = await server.rows<{ n: number }>(sql`select count(distinct tableoid)::int as n from events where description in ('old', 'last month', 'this month')`);
    expect(partitions[0]!.n).toBe(3);

    const all = await server.gql(`{ events(filter: { user: "pat" }) { nodes { message } } }`);
    expect(all.data.events.nodes.map((n: { message: string }) => n.message)).toEqual(['this month', 'last month', 'old']);
    const range = await server.gql(`query($s: DateTime, $u: DateTime) { events(filter: { user: "pat", since: $s, until: $u }) { nodes { message } } }`, {
      s: lastMonth,
      u: new Date(monthStart(0).getTime() + 1).toISOString(),
    });
    expect(range.data.events.nodes.map((n: { message: string }) => n.message)).toEqual(['this month', 'last month']);
    const paged = await server.gql(`{ events(filter: { user: "pat" }, first: 1) { pageInfo { endCursor } } }`);
    const next = await server.gql(`query($a: String) { events(filter: { user: "pat" }, first: 5, after: $a) { nodes { message } } }`, { a: paged.data.events.pageInfo.endCursor });
    expect(next.data.events.nodes.map((n: { message: string }) => n.message)).toEqual(['last month', 'old']);
    const entity = await server.gql(`{ entity(type: "dataset", id: "across") { activity(days: 500) { nodes { message params } } usage(days: 500) { total } } }`);
    expect(entity.data.entity.activity.nodes.map((n: { message: string }) => n.message)).toEqual(['this month', 'last month', 'old']);
    expect(entity.data.entity.activity.nodes[2].params).toEqual({ output: { type: 'dataset', id: 'across', name: null } });
    expect(entity.data.entity.usage.total).toBe(3);
    for (const id of [old_, last_, this_]) {
      expect((await server.gql(`query($id: ID!) { event(id: $id) { id params } }`, { id })).data.event.id).toBe(id);
    }
  });

  it('keeps at least the policy’s months when deciding what expired', () => {
    const now = new Date('2026-11-24T10:00:00Z');
    expect(expiredMonths(['2025-09', '2025-10', '2025-11', '2025-12', '2026-11'], 12, now)).toEqual(['2025-09', '2025-10']);
    expect(expiredMonths(['2026-07', '2026-08', '2026-09'], 3, now)).toEqual(['2026-07']);
  });
});

describe('retention', () => {
  it('drops only the expired month, whole, and records that it did', async () => {
    const expired = new Date(Date.now() - 800 * day);
    const kept = new Date(Date.now() - 40 * day);
    await server.gql(LOG_BATCH, {
      events: [
        { type: 'log', message: 'expired 1', occurredAt: expired.toISOString(), idempotencyKey: 'expired-key' },
        { type: 'log', message: 'expired 2', occurredAt: new Date(expired.getTime() + 1000).toISOString() },
        { type: 'log', message: 'kept', occurredAt: kept.toISOString() },
      ],
    });
    const expiredMonth = expired.toISOString().slice(0, 7);
    const before = (await server.gql(`{ retentionPolicy { partitions } }`)).data.retentionPolicy.partitions as string[];
    expect(before).toContain(expiredMonth);

    const res = await server.gql(`mutation { setRetentionPolicy(months: 12) { policy { months partitions } dropped { month events } } }`);
    expect(res.errors).toBeUndefined();
    const { policy, dropped } = res.data.setRetentionPolicy;
    expect(policy.months).toBe(12);
    // The month of "old" (400 days ago) expired too; both go, each with its own count.
    const droppedMonths = dropped.map((d: { month: string }) => d.month);
    expect(droppedMonths).toContain(expiredMonth);
    expect(dropped.find((d: { month: string }) => d.month === expiredMonth).events).toBe(2);
    expect(policy.partitions).not.toContain(expiredMonth);
    expect(policy.partitions).toEqual(before.filter((m) => !droppedMonths.includes(m)));

    const messages = (await server.gql(`{ events(first: 500) { nodes { message type params } } }`)).data.events.nodes;
    expect(messages.map((n: { message: string }) => n.message)).not.toContain('expired 1');
    expect(messages.map((n: { message: string }) => n.message)).toContain('kept');
    expect(messages.map((n: { message: string }) => n.message)).toContain('last month');
    const records = messages.filter((n: { type: string }) => n.type === 'retention-month-dropped');
    expect(records.map((n: { params: { month: string } }) => n.params.month).sort()).toEqual([...droppedMonths].sort());
    expect(messages.some((n: { type: string; params: { after: string } }) => n.type === 'retention-policy-changed' && n.params.after === '12')).toBe(true);
    const keys = await server.rows<{ n: number }>(sql`select count(*)::int as n from event_idempotency_keys where key = 'expired-key'`);
    expect(keys[0]!.n).toBe(0);

    // Running again drops nothing more.
    expect(await server.services.retention.apply()).toEqual([]);
    const bad = await server.gql(`mutation { setRetentionPolicy(months: 0) { policy { months } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
