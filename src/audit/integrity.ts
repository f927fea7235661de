import { createPublicKey, hash } from 'node:crypto';
import { asc, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { unnestRows } from '../db/unnest.js';
import { prunedMonths } from '../db/schema.js';
import { loadEventsByIds } from '../history/events.js';
import { allCheckpoints, signatureHolds, type Checkpoint } from './checkpoints.js';
import type { AuditEvent } from './model.js';
import { publicKeyInfo, type PublicKeyInfo } from './signing-key.js';

/** The chain head before the first batch. */
export const GENESIS = '0'.repeat(64);

// One-shot: half the cost of createHash().update().digest() for an event's few hundred bytes.
const sha256 = (text: string) => hash('sha256', text, 'hex');

/**
 * The content an event's hash covers, in a fixed order. Entities count by their own id (a rename
 * of the entity is not a change to the event); parameters are sorted by name, then position.
 */
export function canonicalEvent(event: AuditEvent): string {
  // Events come prepared and read back in this order already (byNameThenPosition); the stable sort
  // is for any other caller, and is skipped when there is nothing to do.
  const byName = event.parameters.every((p, i, all) => i === 0 || all[i - 1]!.name <= p.name)
    ? event.parameters
    : [...event.parameters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parameters = byName.map((p) => [p.name, p.value, p.entity?.id ?? null]);
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
  await queryRows(
    tx,
    sql`
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
    from ${unnestRows('r', { event_id: 'bigint', occurred_at: 'timestamptz', position: 'int', hash: 'text' }, rows)}
    cross join batch`,
    { prepared: true },
  );
}

export interface BrokenLink {
  /**
   * batch-missing, batch-link, batch-head, batch-digest, event-deleted, event-changed, event-unsealed,
   * checkpoint-key, checkpoint-signature, checkpoint-head, checkpoint-batch-missing, pruned-count
   */
  kind: string;
  batch: number | null;
  eventId: string | null;
  message: string;
}

/** A month retention dropped, as verification accepted it. */
export interface PrunedMonth {
  month: string;
  /** Sealed events of the month found missing and counted as pruned. */
  events: number;
  /** True when a signed checkpoint proves the drop; false when only its sealed record does. */
  signed: boolean;
}

export interface IntegrityReport {
  ok: boolean;
  batches: number;
  /** Events whose hash was recomputed. */
  events: number;
  /** Sealed events that are gone because retention dropped their month. */
  prunedEvents: number;
  /** Checkpoints whose signature and head were checked. */
  checkpoints: number;
  /** The chain head after the last batch checked. */
  head: string | null;
  firstBroken: BrokenLink | null;
  prunedMonths: PrunedMonth[];
  /** What could not be proven (no checkpoint key, unsigned drops…); they do not make `ok` false. */
  warnings: string[];
}

export interface VerifyOptions {
  since?: Date | null | undefined;
  until?: Date | null | undefined;
  /**
   * Keys whose signatures count. Empty (a server without a checkpoint key): stored checkpoints are
   * checked against the public keys stored beside them, which proves less (a warning says so).
   */
  trusted?: ReadonlyMap<string, PublicKeyInfo>;
  /** Checkpoints kept outside the database (an exported file), checked besides the stored ones. */
  external?: Checkpoint[];
}

interface BatchRow {
  seq: string;
  prev_head: string;
  digest: string;
  head: string;
  event_count: number;
}

/** How far a month's drop reaches: sealed events of the month in batches up to `through` may be gone. */
interface Pruning {
  through: number;
  /** Events the drops removed; null when an unsigned drop (made before they were counted) did not say. */
  expected: number | null;
  signed: boolean;
  found: number;
}

const PAGE = 200;
const link = (kind: string, batch: number | null, eventId: string | null, message: string): BrokenLink => ({ kind, batch, eventId, message });
const when = (c: Checkpoint) => `signed at ${c.signedAt.toISOString()}`;

/**
 * Recomputes the chain of the batches committed in [since, until) and reports the first broken
 * link: a batch removed or altered, an event deleted or changed, an event in that time with no seal
 * (inserted directly), a checkpoint that does not verify or whose head the chain no longer has (a
 * wholesale rewrite), or more events missing from a pruned month than its signed drop removed.
 */
export async function verifyIntegrity(db: Db, options: VerifyOptions = {}): Promise<IntegrityReport> {
  const since = options.since?.toISOString() ?? null;
  const until = options.until?.toISOString() ?? null;
  const bounded = since !== null || until !== null;
  const report: IntegrityReport = { ok: true, batches: 0, events: 0, prunedEvents: 0, checkpoints: 0, head: null, firstBroken: null, prunedMonths: [], warnings: [] };
  const broken = (found: BrokenLink): IntegrityReport => ({ ...report, ok: false, firstBroken: found });

  const signed = await checkSignatures(db, options, report.warnings);
  if ('broken' in signed) return broken(signed.broken);
  const pruned = await prunings(db, signed.proven, signed.trusted, report.warnings);

  const inRange = sql`(${since}::timestamptz is null or committed_at >= ${since}::timestamptz)
    and (${until}::timestamptz is null or committed_at < ${until}::timestamptz)`;
  let expectedSeq: number | null = null;
  let afterSeq = -1;
  for (;;) {
    // Ordered by the bigint columns: an unqualified `seq` would be the text alias ('10' < '2').
    const batches = await queryRows<BatchRow>(
      db,
      sql`select seq::text as seq, prev_head, digest, head, event_count from event_batches
          where ${inRange} and seq > ${afterSeq} order by event_batches.seq limit ${PAGE}`,
    );
    if (batches.length === 0) break;
    if (expectedSeq === null) {
      // The link into the range: the batch before the first one checked.
      const first = Number(batches[0]!.seq);
      const [before] = await queryRows<{ head: string }>(db, sql`select head from event_batches where seq = ${first - 1}`);
      report.head = first === 1 ? GENESIS : (before?.head ?? null);
      if (report.head === null) return broken(link('batch-missing', first - 1, null, `batch ${first - 1} is missing`));
      expectedSeq = first;
    }
    const hashes = await queryRows<{ event_id: string; batch_seq: string; position: number; hash: string; month: string }>(
      db,
      sql`select event_id::text as event_id, batch_seq::text as batch_seq, position, hash,
                 to_char(occurred_at at time zone 'UTC', 'YYYY-MM') as month
          from event_hashes
          where batch_seq between ${batches[0]!.seq}::bigint and ${batches.at(-1)!.seq}::bigint order by event_hashes.batch_seq, position`,
    );
    const events = await loadEventsByIds(db, hashes.map((h) => h.event_id));
    let index = 0;
    for (const batch of batches) {
      const seq = Number(batch.seq);
      if (seq !== expectedSeq) return broken(link('batch-missing', expectedSeq, null, `batch ${expectedSeq} is missing`));
      if (batch.prev_head !== report.head) return broken(link('batch-link', seq, null, `batch ${seq} does not follow batch ${seq - 1}`));
      if (batch.head !== batchHead(batch.prev_head, batch.digest, batch.event_count)) {
        return broken(link('batch-head', seq, null, `batch ${seq}'s head does not match its content`));
      }
      let previous = '';
      let sealedCount = 0;
      for (; index < hashes.length && hashes[index]!.batch_seq === batch.seq; index++, sealedCount++) {
        const sealed = hashes[index]!;
        const event = events.get(sealed.event_id);
        if (!event) {
          const pruning = pruned.get(sealed.month);
          if (!pruning || seq > pruning.through) return broken(deletedLink(seq, sealed.event_id, sealed.month, pruning));
          // Gone with its month: its seal still links the events after it.
          pruning.found++;
          report.prunedEvents++;
          previous = sealed.hash;
          continue;
        }
        const recomputed = eventHash(previous, event);
        if (recomputed !== sealed.hash) return broken(link('event-changed', seq, sealed.event_id, `event ${sealed.event_id} was changed`));
        previous = recomputed;
        report.events++;
      }
      if (sealedCount !== batch.event_count || previous !== batch.digest) {
        return broken(link('batch-digest', seq, null, `batch ${seq} lost or gained sealed events`));
      }
      report.head = batch.head;
      expectedSeq = seq + 1;
      report.batches++;
    }
    afterSeq = Number(batches.at(-1)!.seq);
  }

  const rewritten = await checkHeads(db, signed.proven);
  if (rewritten) return broken(rewritten);
  report.checkpoints = signed.proven.length;

  for (const [month, p] of pruned) {
    report.prunedMonths.push({ month, events: p.found, signed: p.signed });
    if (p.expected === null || (bounded ? p.found <= p.expected : p.found === p.expected)) continue;
    return broken(
      link('pruned-count', null, null, `month ${month}: its ${p.signed ? 'signed ' : ''}drops removed ${p.expected} events, but ${p.found} of its sealed events are missing${p.found > p.expected ? ' (events were deleted and passed off as pruned)' : ''}`),
    );
  }
  report.prunedMonths.sort((a, b) => (a.month < b.month ? -1 : 1));

  const [unsealed] = await queryRows<{ id: string }>(
    db,
    sql`select e.id::text as id from events e
        where not exists (select 1 from event_hashes h where h.event_id = e.id)
          and (${since}::timestamptz is null or e.recorded_at >= ${since}::timestamptz)
          and (${until}::timestamptz is null or e.recorded_at < ${until}::timestamptz)
        order by e.id limit 1`,
  );
  if (unsealed) return broken(link('event-unsealed', null, unsealed.id, `event ${unsealed.id} was not written by this service (no seal)`));
  return report;
}

function deletedLink(batch: number, eventId: string, month: string, pruning: Pruning | undefined): BrokenLink {
  const why = pruning ? ` (month ${month} was pruned only up to batch ${pruning.through})` : '';
  return link('event-deleted', batch, eventId, `event ${eventId} was deleted${why}`);
}

/**
 * Checks the signature of every checkpoint, stored or given, against the trusted keys (or, with
 * none, against the public keys stored beside them). Answers those that verify, once each.
 */
async function checkSignatures(
  db: Db,
  options: VerifyOptions,
  warnings: string[],
): Promise<{ broken: BrokenLink } | { proven: Checkpoint[]; trusted: boolean }> {
  const stored = await allCheckpoints(db);
  const trusted = options.trusted ?? new Map<string, PublicKeyInfo>();
  const selfChecked = trusted.size === 0 && !options.external;
  if (selfChecked && stored.length > 0) {
    warnings.push('no checkpoint key is configured: stored checkpoints were checked against the public keys stored beside them, which whoever can write the database could replace; verify against an exported file');
  }
  const candidates: Array<{ checkpoint: Checkpoint; where: string; key: PublicKeyInfo | undefined }> = [
    ...stored.map((c) => ({ checkpoint: c, where: 'in the database', key: trusted.get(c.keyId) ?? (selfChecked && c.publicKeyPem ? storedKey(c.publicKeyPem) : undefined) })),
    ...(options.external ?? []).map((c) => ({ checkpoint: c, where: 'in the file', key: trusted.get(c.keyId) })),
  ];
  const proven = new Map<string, Checkpoint>();
  for (const { checkpoint: c, where, key } of candidates) {
    if (!key) {
      return { broken: link('checkpoint-key', c.batch, null, `the checkpoint of batch ${c.batch} ${where} (${when(c)}) is signed by key ${c.keyId}, which this verification does not trust`) };
    }
    if (!signatureHolds(c, key)) {
      return { broken: link('checkpoint-signature', c.batch, null, `the checkpoint of batch ${c.batch} ${where} (${when(c)}) does not match its signature: it was altered`) };
    }
    proven.set(c.signature, c);
  }
  return { proven: [...proven.values()].sort((a, b) => a.batch - b.batch), trusted: !selfChecked };
}

function storedKey(pem: string): PublicKeyInfo | undefined {
  try {
    return publicKeyInfo(createPublicKey(pem));
  } catch {
    return undefined;
  }
}

/**
 * The months retention dropped. A signed drop checkpoint proves a drop. A pruned_months row alone
 * (the drop's own row, unsigned) counts only where nothing better can exist: when verification
 * trusts no key. With a trusted key an unsigned row proves nothing (whoever can write the database
 * can add one), so a forged "retention" is not an escape hatch; drops made before a key was
 * configured are signed when the key first starts (Checkpointer.start).
 */
async function prunings(db: Db, proven: Checkpoint[], trusted: boolean, warnings: string[]): Promise<Map<string, Pruning>> {
  const pruned = new Map<string, Pruning>();
  const signedDrops = new Set<string>();
  for (const c of proven) {
    // A drop signed twice (a file and the database, or two instances adopting it) counts once.
    if (c.prunedMonth === null || signedDrops.has(`${c.prunedMonth}@${c.batch}`)) continue;
    signedDrops.add(`${c.prunedMonth}@${c.batch}`);
    const p = pruned.get(c.prunedMonth) ?? { through: 0, expected: 0, signed: true, found: 0 };
    p.through = Math.max(p.through, c.batch);
    p.expected = (p.expected ?? 0) + (c.prunedEvents ?? 0);
    pruned.set(c.prunedMonth, p);
  }
  const rows = await db.select().from(prunedMonths).orderBy(asc(prunedMonths.id));
  for (const row of rows) {
    const through = Number(row.throughBatch);
    if (signedDrops.has(`${row.month}@${through}`)) continue;
    if (trusted) {
      warnings.push(`the drop of ${row.month} recorded through batch ${through} has no signed checkpoint: it does not count as pruned`);
      continue;
    }
    if (pruned.get(row.month)?.signed) continue;
    warnings.push(`the drop of ${row.month} is unsigned (no checkpoint key): whoever can write the database could have forged it`);
    const p = pruned.get(row.month) ?? { through: 0, expected: 0, signed: false, found: 0 };
    p.through = Math.max(p.through, through);
    p.expected = p.expected === null || row.events === null ? null : p.expected + Number(row.events);
    pruned.set(row.month, p);
  }
  return pruned;
}

/**
 * Each checkpoint's head against the chain: a consistent rewrite of events and hashes still
 * changes the head of every batch after the first change, which no one can re-sign without the key.
 */
async function checkHeads(db: Db, proven: Checkpoint[]): Promise<BrokenLink | null> {
  if (proven.length === 0) return null;
  const rows = await queryRows<{ seq: string; head: string }>(
    db,
    sql`select seq::text as seq, head from event_batches
        where seq in (select value::bigint from json_array_elements_text(${JSON.stringify(proven.map((c) => String(c.batch)))}::json))`,
  );
  const heads = new Map(rows.map((r) => [Number(r.seq), r.head]));
  let lastGood: Checkpoint | null = null;
  for (const c of proven) {
    const head = c.batch === 0 ? GENESIS : heads.get(c.batch);
    if (head === undefined) {
      return link('checkpoint-batch-missing', c.batch, null, `batch ${c.batch}, whose head was signed at ${c.signedAt.toISOString()}, is no longer in the chain`);
    }
    if (head !== c.head) {
      const range = lastGood ? `after batch ${lastGood.batch} (whose checkpoint still matches) and at or before batch ${c.batch}` : `at or before batch ${c.batch}`;
      return link('checkpoint-head', c.batch, null, `the chain no longer has the head signed for batch ${c.batch} (${when(c)}): the log was rewritten ${range}`);
    }
    lastGood = c;
  }
  return null;
}
