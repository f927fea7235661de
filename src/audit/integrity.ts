import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { loadEventsByIds } from '../history/events.js';
import type { AuditEvent } from './model.js';

/** The chain head before the first batch. */
export const GENESIS = '0'.repeat(64);

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The content an event's hash covers, in a fixed order. Entities count by their own id (a rename
 * of the entity is not a change to the event); parameters are sorted by name, then position.
 */
export function canonicalEvent(event: AuditEvent): string {
  const parameters = event.parameters
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.name < b.p.name ? -1 : a.p.name > b.p.name ? 1 : a.i - b.i))
    .map(({ p }) => [p.name, p.value, p.entity?.id ?? null]);
  return JSON.stringify([
    event.id,
    event.type,
    event.occurredAt.getTime(),
    event.recordedAt.getTime(),
    event.userId,
    event.sessionId?.toLowerCase() ?? null,
    event.source,
    event.description,
    event.durationMs,
    event.isError,
    event.errorMessage,
    event.stackTrace,
    event.fingerprint,
    parameters,
  ]);
}

export const eventHash = (previous: string, event: AuditEvent) => sha256(`${previous}\n${canonicalEvent(event)}`);
export const batchHead = (prevHead: string, digest: string, count: number) => sha256(`${prevHead}:${digest}:${count}`);

/**
 * Seals one ingest batch inside its transaction: the events' hashes, chained in batch order, and
 * the batch chained to the head. The head row is locked only by this last statement, until the
 * commit, so batches validate and insert in parallel and only take turns for this step.
 */
export async function sealBatch(tx: Db, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  let previous = '';
  const rows = events.map((event, position) => {
    previous = eventHash(previous, event);
    return { event_id: event.id, occurred_at: event.occurredAt.toISOString(), position, hash: previous };
  });
  const digest = previous;
  await tx.execute(sql`
    with prev as (select seq, head from chain_head where id = 1 for update),
    up as (
      update chain_head c set seq = prev.seq + 1,
        head = encode(sha256(convert_to(prev.head || ':' || ${digest}::text || ':' || ${events.length}::int, 'UTF8')), 'hex')
      from prev where c.id = 1
      returning c.seq, c.head, prev.head as prev_head),
    batch as (
      insert into event_batches (seq, prev_head, digest, head, event_count)
      select seq, prev_head, ${digest}, head, ${events.length} from up returning seq)
    insert into event_hashes (event_id, occurred_at, batch_seq, position, hash)
    select r.event_id, r.occurred_at, batch.seq, r.position, r.hash
    from json_to_recordset(${JSON.stringify(rows)}::json) as r(event_id bigint, occurred_at timestamptz, position int, hash text)
    cross join batch`);
}

export interface BrokenLink {
  /** batch-missing, batch-link, batch-head, event-deleted, event-changed, batch-digest, event-unsealed */
  kind: string;
  batch: number | null;
  eventId: string | null;
  message: string;
}

export interface IntegrityReport {
  ok: boolean;
  batches: number;
  events: number;
  /** The chain head after the last batch checked. */
  head: string | null;
  firstBroken: BrokenLink | null;
}

interface BatchRow {
  seq: string;
  prev_head: string;
  digest: string;
  head: string;
  event_count: number;
}

const PAGE = 200;

/**
 * Recomputes the chain of the batches committed in [since, until) and reports the first broken
 * link: a batch removed or altered, an event deleted or changed, or an event in that time with no
 * seal (inserted directly in the database).
 */
export async function verifyIntegrity(db: Db, range: { since?: Date | null; until?: Date | null } = {}): Promise<IntegrityReport> {
  const since = range.since?.toISOString() ?? null;
  const until = range.until?.toISOString() ?? null;
  const inRange = sql`(${since}::timestamptz is null or committed_at >= ${since}::timestamptz)
    and (${until}::timestamptz is null or committed_at < ${until}::timestamptz)`;
  let checkedBatches = 0;
  let checkedEvents = 0;
  let expectedSeq: number | null = null;
  let head: string | null = null;
  const broken = (link: BrokenLink): IntegrityReport => ({ ok: false, batches: checkedBatches, events: checkedEvents, head, firstBroken: link });

  let afterSeq = -1;
  for (;;) {
    const batches = await queryRows<BatchRow>(
      db,
      sql`select seq::text as seq, prev_head, digest, head, event_count from event_batches
          where ${inRange} and seq > ${afterSeq} order by seq limit ${PAGE}`,
    );
    if (batches.length === 0) break;
    if (expectedSeq === null) {
      // The link into the range: the batch before the first one checked.
      const first = Number(batches[0]!.seq);
      const [before] = await queryRows<{ head: string }>(db, sql`select head from event_batches where seq = ${first - 1}`);
      head = first === 1 ? GENESIS : (before?.head ?? null);
      if (head === null) return broken({ kind: 'batch-missing', batch: first - 1, eventId: null, message: `batch ${first - 1} is missing` });
      expectedSeq = first;
    }
    const hashes = await queryRows<{ event_id: string; batch_seq: string; position: number; hash: string }>(
      db,
      sql`select event_id::text as event_id, batch_seq::text as batch_seq, position, hash from event_hashes
          where batch_seq between ${batches[0]!.seq}::bigint and ${batches.at(-1)!.seq}::bigint order by batch_seq, position`,
    );
    const events = await loadEventsByIds(db, hashes.map((h) => h.event_id));
    for (const batch of batches) {
      const seq = Number(batch.seq);
      if (seq !== expectedSeq) return broken({ kind: 'batch-missing', batch: expectedSeq, eventId: null, message: `batch ${expectedSeq} is missing` });
      if (batch.prev_head !== head) return broken({ kind: 'batch-link', batch: seq, eventId: null, message: `batch ${seq} does not follow batch ${seq - 1}` });
      if (batch.head !== batchHead(batch.prev_head, batch.digest, batch.event_count)) {
        return broken({ kind: 'batch-head', batch: seq, eventId: null, message: `batch ${seq}'s head does not match its content` });
      }
      const own = hashes.filter((h) => h.batch_seq === batch.seq);
      let previous = '';
      for (const sealed of own) {
        const event = events.get(sealed.event_id);
        if (!event) return broken({ kind: 'event-deleted', batch: seq, eventId: sealed.event_id, message: `event ${sealed.event_id} was deleted` });
        const recomputed = eventHash(previous, event);
        if (recomputed !== sealed.hash) return broken({ kind: 'event-changed', batch: seq, eventId: sealed.event_id, message: `event ${sealed.event_id} was changed` });
        previous = recomputed;
        checkedEvents++;
      }
      if (own.length !== batch.event_count || previous !== batch.digest) {
        return broken({ kind: 'batch-digest', batch: seq, eventId: null, message: `batch ${seq} lost or gained sealed events` });
      }
      head = batch.head;
      expectedSeq = seq + 1;
      checkedBatches++;
    }
    afterSeq = Number(batches.at(-1)!.seq);
  }

  const [unsealed] = await queryRows<{ id: string }>(
    db,
    sql`select e.id::text as id from events e
        where not exists (select 1 from event_hashes h where h.event_id = e.id)
          and (${since}::timestamptz is null or e.recorded_at >= ${since}::timestamptz)
          and (${until}::timestamptz is null or e.recorded_at < ${until}::timestamptz)
        order by e.id limit 1`,
  );
  if (unsealed) {
    return broken({ kind: 'event-unsealed', batch: null, eventId: unsealed.id, message: `event ${unsealed.id} was not written by this service (no seal)` });
  }
  return { ok: true, batches: checkedBatches, events: checkedEvents, head, firstBroken: null };
}
