import { sql } from 'drizzle-orm';
import { batchHead, eventHash, GENESIS } from '../../src/audit/integrity.js';
import { queryRows, type Db } from '../../src/db/client.js';
import { loadEventsByIds } from '../../src/history/events.js';

/**
 * What someone who can write the database does to hide an edit: recompute every event hash, batch
 * digest and head, and the chain head, from the events as they are now. The chain is then
 * consistent again; only a checkpoint signed before the edit can tell. Running it on an untouched
 * (or restored) log gives back exactly the hashes the service wrote.
 */
export async function rewriteChain(db: Db): Promise<string> {
  const seals = await queryRows<{ event_id: string; batch_seq: string }>(db, sql`select event_id::text as event_id, batch_seq::text as batch_seq from event_hashes order by event_hashes.batch_seq, position`);
  const batches = await queryRows<{ seq: string; event_count: number }>(db, sql`select seq::text as seq, event_count from event_batches order by event_batches.seq`);
  const events = await loadEventsByIds(db, seals.map((s) => s.event_id));
  const hashes: Array<{ event_id: string; hash: string }> = [];
  const heads: Array<{ seq: string; prev_head: string; digest: string; head: string }> = [];
  let head = GENESIS;
  let i = 0;
  for (const batch of batches) {
    let previous = '';
    for (; i < seals.length && seals[i]!.batch_seq === batch.seq; i++) {
      const event = events.get(seals[i]!.event_id);
      if (!event) throw new Error(`rewriteChain: event ${seals[i]!.event_id} is gone`);
      previous = eventHash(previous, event);
      hashes.push({ event_id: seals[i]!.event_id, hash: previous });
    }
    const next = batchHead(head, previous, batch.event_count);
    heads.push({ seq: batch.seq, prev_head: head, digest: previous, head: next });
    head = next;
  }
  await db.execute(sql`update event_hashes h set hash = r.hash
    from json_to_recordset(${JSON.stringify(hashes)}::json) as r(event_id bigint, hash text) where h.event_id = r.event_id`);
  await db.execute(sql`update event_batches b set prev_head = r.prev_head, digest = r.digest, head = r.head
    from json_to_recordset(${JSON.stringify(heads)}::json) as r(seq bigint, prev_head text, digest text, head text) where b.seq = r.seq`);
  await db.execute(sql`update chain_head set head = ${head} where id = 1`);
  return head;
}
