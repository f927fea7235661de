import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditError } from '../src/errors.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const LOG = `mutation($input: LogInput!) { log(input: $input) { recorded duplicate event { id message user } } }`;

async function transactionsOf(prefix: string): Promise<number> {
  const [row] = await server.rows<{ n: number }>(sql`select count(distinct tx_id)::int as n from events where description like ${`${prefix}%`}`);
  return row!.n;
}

describe('group commit', () => {
  it('stores single events that arrive together in a few transactions, each caller getting its own event', async () => {
    // Submitted in one go: two take the free slots, the other 38 wait and share the next transaction.
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => server.services.ingestor.log({ type: 'log', message: `together ${i}`, user: `user-${i % 4}` })),
    );
    expect(outcomes.map((o) => o.event?.description)).toEqual(Array.from({ length: 40 }, (_, i) => `together ${i}`));
    expect(outcomes.every((o) => o.recorded && !o.duplicate)).toBe(true);
    expect(new Set(outcomes.map((o) => o.event!.id)).size).toBe(40);
    expect(await transactionsOf('together ')).toBe(3);
    const [stored] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like 'together %'`);
    expect(stored!.n).toBe(40);
  });

  it('fails only the submission at fault; the others sharing its transaction are stored', async () => {
    const unknownSession = '00000000-0000-4000-8000-000000000000';
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        server.services.ingestor.log({ type: 'log', message: `shared ${i}`, ...(i === 7 ? { sessionId: unknownSession } : {}) }),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [[i, r.reason]] : []));
    expect(failed).toHaveLength(1);
    expect(failed[0]![0]).toBe(7);
    expect(failed[0]![1]).toBeInstanceOf(AuditError);
    expect((failed[0]![1] as AuditError).code).toBe('UNKNOWN_SESSION');
    const [stored] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like 'shared %'`);
    expect(stored!.n).toBe(11);
  });

  it('treats the same idempotency key in two grouped submissions as one event', async () => {
    const [first, second, third] = await Promise.all([
      server.services.ingestor.log({ type: 'log', message: 'keyed a' }),
      server.services.ingestor.log({ type: 'log', message: 'keyed b', idempotencyKey: 'group-commit-key' }),
      server.services.ingestor.log({ type: 'log', message: 'keyed b', idempotencyKey: 'group-commit-key' }),
    ]);
    expect(first!.recorded).toBe(true);
    expect(second!.duplicate).toBe(false);
    expect(third!.duplicate).toBe(true);
    expect(third!.event?.id).toBe(second!.event?.id);
    const [stored] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where idempotency_key = 'group-commit-key'`);
    expect(stored!.n).toBe(1);
  });

  it('answers concurrent log requests over HTTP each with its own event', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => server.gql(LOG, { input: { message: `http ${i}`, user: 'carol' } })));
    expect(answers.map((a) => a.errors)).toEqual(Array.from({ length: 30 }, () => undefined));
    expect(answers.map((a) => a.data.log.event.message)).toEqual(Array.from({ length: 30 }, (_, i) => `http ${i}`));
    const [stored] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like 'http %'`);
    expect(stored!.n).toBe(30);
  });
});
