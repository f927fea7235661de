import { generateKeyPairSync, sign } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointMessage, Checkpointer, parseCheckpointFile } from '../src/audit/checkpoints.js';
import { verifyIntegrity } from '../src/audit/integrity.js';
import { publicKeyInfo } from '../src/audit/signing-key.js';
import { Retention } from '../src/retention/retention.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

const KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const day = 86_400_000;
const quiet = pino({ level: 'silent' });

let server: TestServer;
const expired = new Date(Date.now() - 800 * day);
const expiredMonth = expired.toISOString().slice(0, 7);
const later = new Date(Date.now() - 500 * day);
const laterMonth = later.toISOString().slice(0, 7);
const kept = new Date(Date.now() - 40 * day);
const keptMonth = kept.toISOString().slice(0, 7);
const keptIds: string[] = [];

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
const VERIFY = `{ verifyIntegrity { ok events prunedEvents checkpoints warnings prunedMonths { month events signed } firstBroken { kind batch eventId message } } }`;
const verifyNow = async () => (await server.gql(VERIFY)).data.verifyIntegrity;

async function logAt(at: Date, label: string, count: number): Promise<string[]> {
  const events = Array.from({ length: count }, (_, i) => ({ type: 'log', message: `${label} ${i}`, occurredAt: new Date(at.getTime() + i * 1000).toISOString(), parameters: { i } }));
  const res = await server.gql(LOG_BATCH, { events });
  expect(res.errors).toBeUndefined();
  return res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
}

/** Takes an event out (to put it back later with `restore`), as a DELETE in SQL would. */
async function deleteEvent(id: string): Promise<() => Promise<void>> {
  const table = `saved_${id}`;
  await server.rows(sql.raw(`create table ${table} as select * from events where id = ${Number(id)}`));
  await server.rows(sql`delete from events where id = ${id}`);
  return async () => {
    await server.rows(sql.raw(`insert into events select * from ${table}`));
    await server.rows(sql.raw(`drop table ${table}`));
  };
}

beforeAll(async () => {
  server = await startTestServer({ AUDIT_CHECKPOINT_KEY: KEY });
  await logAt(expired, 'expired', 2);
  await logAt(later, 'later', 3);
  keptIds.push(...(await logAt(kept, 'kept', 3)));
  await logAt(new Date(), 'now', 2);
});
afterAll(() => server?.stop());

describe('integrity across retention', () => {
  it('still verifies after an audited drop: the month’s events count as pruned, proven by a signed checkpoint', async () => {
    expect((await verifyNow()).ok).toBe(true);
    const res = await server.gql(`mutation { setRetentionPolicy(months: 20) { dropped { month events } } }`);
    expect(res.data.setRetentionPolicy.dropped).toEqual([{ month: expiredMonth, events: 2 }]);
    const [left] = await server.rows<{ n: number }>(sql`select count(*)::int as n from event_hashes where to_char(occurred_at at time zone 'UTC', 'YYYY-MM') = ${expiredMonth}`);
    expect(left!.n).toBe(2); // the seals stay: the events after them still chain through them

    const report = await verifyNow();
    expect(report).toMatchObject({ ok: true, prunedEvents: 2, firstBroken: null, warnings: [] });
    expect(report.prunedMonths).toEqual([{ month: expiredMonth, events: 2, signed: true }]);
    const [count] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events`);
    expect(report.events).toBe(count!.n);

    const drops = (await server.gql(`{ checkpoints(first: 10) { nodes { prunedMonth prunedEvents batch } } }`)).data.checkpoints.nodes;
    expect(drops.filter((c: { prunedMonth: string | null }) => c.prunedMonth !== null)).toEqual([{ prunedMonth: expiredMonth, prunedEvents: 2, batch: expect.any(Number) }]);
    const record = (await server.gql(`{ events(filter: { types: ["retention-month-dropped"] }) { nodes { params } } }`)).data.events.nodes;
    expect(record.map((n: { params: { month: string } }) => n.params.month)).toEqual([expiredMonth]);

    // The same holds against the exported file, which carries the signed drop.
    const kept = parseCheckpointFile(JSON.stringify((await server.gql(`{ checkpointExport }`)).data.checkpointExport));
    const outside = await verifyIntegrity(server.database.db, { trusted: kept.keys, external: kept.checkpoints });
    expect(outside).toMatchObject({ ok: true, prunedEvents: 2 });
  });

  it('finds a DELETE made directly in a month that is kept', async () => {
    const restore = await deleteEvent(keptIds[1]!);
    const report = await verifyNow();
    expect(report.firstBroken).toMatchObject({ kind: 'event-deleted', eventId: keptIds[1] });
    await restore();
    expect((await verifyNow()).ok).toBe(true);
  });

  it('does not take a forged drop for retention', async () => {
    const [head] = await server.rows<{ seq: number }>(sql`select seq::int as seq from chain_head`);
    // An unsigned pruned_months row, as anyone who can write the database could add.
    const restore = await deleteEvent(keptIds[0]!);
    await server.rows(sql`insert into pruned_months (month, through_batch, events) values (${keptMonth}, ${head!.seq}, 1)`);
    const forged = await verifyNow();
    expect(forged.firstBroken).toMatchObject({ kind: 'event-deleted', eventId: keptIds[0] });
    expect(forged.warnings.join('\n')).toContain(`the drop of ${keptMonth} recorded through batch ${head!.seq} has no signed checkpoint`);
    await server.rows(sql`delete from pruned_months where month = ${keptMonth}`);

    // A deleted event passed off as one of the pruned month's: the signed count gives it away.
    await server.rows(sql`update event_hashes set occurred_at = ${expired.toISOString()} where event_id = ${keptIds[0]!}`);
    const moved = await verifyNow();
    expect(moved.firstBroken).toMatchObject({ kind: 'pruned-count' });
    expect(moved.firstBroken.message).toContain(`month ${expiredMonth}: its signed drops removed 2 events, but 3 of its sealed events are missing`);
    await server.rows(sql`update event_hashes set occurred_at = ${kept.toISOString()} where event_id = ${keptIds[0]!}`);
    await restore();

    // A drop checkpoint signed by someone else's key.
    const { privateKey } = generateKeyPairSync('ed25519');
    const forger = publicKeyInfo(privateKey);
    const [batch] = await server.rows<{ head: string }>(sql`select head from event_batches where seq = ${head!.seq}`);
    const claim = { batch: head!.seq, head: batch!.head, signedAt: new Date(), keyId: forger.id, prunedMonth: keptMonth, prunedEvents: 1 };
    const signature = sign(null, Buffer.from(checkpointMessage(claim)), privateKey).toString('base64url');
    await server.rows(sql`insert into checkpoint_keys (id, public_key) values (${forger.id}, ${forger.pem})`);
    await server.rows(sql`insert into checkpoints (batch_seq, head, signed_at, key_id, pruned_month, pruned_events, signature)
      values (${claim.batch}, ${claim.head}, ${claim.signedAt.toISOString()}, ${forger.id}, ${keptMonth}, 1, ${signature})`);
    expect((await verifyNow()).firstBroken).toMatchObject({ kind: 'checkpoint-key' });
    await server.rows(sql`delete from checkpoints where key_id = ${forger.id}`);
    await server.rows(sql`delete from checkpoint_keys where id = ${forger.id}`);
    expect((await verifyNow()).ok).toBe(true);
  });

  it('accepts a drop made with no checkpoint key only where nothing better exists, and signs it when a key first starts', async () => {
    const { partitions, ingestor, checkpoints } = server.services;
    const unsigned = new Retention(server.database, partitions, ingestor, new Checkpointer(server.database, { signing: null, trusted: new Map() }, quiet, 0), quiet);
    await server.rows(sql`update retention_policy set months = 14`);
    expect(await unsigned.apply()).toEqual([{ month: laterMonth, events: 3 }]);

    // This server holds a key: an unsigned drop proves nothing to it.
    const strict = await verifyNow();
    expect(strict.firstBroken).toMatchObject({ kind: 'event-deleted' });
    expect(strict.warnings.join('\n')).toContain(`the drop of ${laterMonth}`);
    // A verifier with no key takes the drop's own record, and says how little that proves.
    const lenient = await verifyIntegrity(server.database.db, { trusted: new Map() });
    expect(lenient.ok).toBe(true);
    expect(lenient.prunedMonths).toEqual([
      { month: expiredMonth, events: 2, signed: true },
      { month: laterMonth, events: 3, signed: false },
    ]);
    expect(lenient.warnings.join('\n')).toContain(`the drop of ${laterMonth} is unsigned (no checkpoint key)`);

    // The first start with a key signs the drops it finds unsigned.
    await new Checkpointer(server.database, checkpoints.keys, quiet, 0).start();
    const adopted = await verifyNow();
    expect(adopted).toMatchObject({ ok: true, prunedEvents: 5, warnings: [] });
    expect(adopted.prunedMonths).toEqual([
      { month: expiredMonth, events: 2, signed: true },
      { month: laterMonth, events: 3, signed: true },
    ]);
  });

  it('drops a month again while writers keep writing: no deadlock, no failed write, every drop counted', async () => {
    await logAt(expired, 'imported late', 4); // an import into the dropped month creates it again
    let stop = false;
    let written = 0;
    const failures: unknown[] = [];
    const writers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        const res = await server.gql(LOG_BATCH, { events: Array.from({ length: 20 }, (_, i) => ({ message: `meanwhile ${i}`, parameters: { i } })) });
        if (res.errors) failures.push(res.errors);
        else written++;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const dropped = await server.services.retention.apply();
    stop = true;
    await Promise.all(writers);
    expect(failures).toEqual([]);
    expect(written).toBeGreaterThan(0);
    expect(dropped).toEqual([{ month: expiredMonth, events: 4 }]);
    const report = await verifyNow();
    expect(report).toMatchObject({ ok: true, prunedEvents: 9, firstBroken: null });
    expect(report.prunedMonths).toContainEqual({ month: expiredMonth, events: 6, signed: true });
  });
});
