import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { AuditError } from '../errors.js';
import type { AuditEvent } from '../audit/model.js';
import { errorGroupStatuses, loadEventsByIds } from './events.js';

import type { FeedPosition } from '../audit/model.js';

export type { FeedPosition };

/** Commit order: by transaction, then by id. */
export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  const tx = BigInt(a.txId) - BigInt(b.txId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const id = BigInt(a.id) - BigInt(b.id);
  return id === 0n ? 0 : id < 0n ? -1 : 1;
}

export function encodeFeedPosition(position: FeedPosition): string {
  return Buffer.from(`${position.txId}.${position.id}`).toString('base64url');
}

export function decodeFeedPosition(cursor: string): FeedPosition {
  const match = /^(\d{1,20})\.(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new AuditError('INVALID_CURSOR', `"${cursor.slice(0, 100)}" is not a feed position this service gave out`);
  return { txId: match[1]!, id: match[2]! };
}

/**
 * The commit-order horizon: every transaction of this database below it has finished. It is the
 * oldest transaction still running, leaving out those positively known to run in another database
 * of the cluster (they write no events here): a transaction held open next door, by another
 * application or another test file, does not hold this feed back. A running transaction that
 * cannot be placed (it ended meanwhile, or the role may not see its session) counts as ours, so the
 * horizon errs on the early side, never past a transaction that may still commit events.
 */
export const COMMIT_HORIZON = sql`(
  select coalesce(
    (select min(x) from pg_snapshot_xip(snapshot) as x
     where not exists (
       select 1 from pg_stat_activity a
       where a.datname is distinct from current_database()
         and a.backend_xid = (x::text::bigint % 4294967296)::text::xid)),
    pg_snapshot_xmax(snapshot))
  from (select pg_current_snapshot() as snapshot) as current)`;

/**
 * Committed events after a position, oldest transaction first, never skipping one that commits
 * later: event ids are taken before commit, so id order is not commit order. Only transactions
 * below the horizon (COMMIT_HORIZON) are read, and every one of those has finished, so nothing
 * can appear behind the returned position afterwards.
 *
 * `known` holds events the caller already has (this instance stored them): their positions are
 * still read here, so that they come in commit order and only once past the horizon, but their
 * contents are not loaded again.
 */
export async function committedEventsAfter(
  db: Db,
  after: FeedPosition | null,
  limit: number,
  known?: ReadonlyMap<string, AuditEvent>,
): Promise<{ events: AuditEvent[]; last: FeedPosition | null }> {
  const rows = await queryRows<{ tx_id: string; id: string }>(
    db,
    sql`select tx_id::text as tx_id, id::text as id from events
        where tx_id < ${COMMIT_HORIZON}
        ${after ? sql`and (tx_id, id) > (${after.txId}::xid8, ${after.id}::bigint)` : sql``}
        order by events.tx_id, events.id limit ${limit}`,
    { prepared: true },
  );
  const byId = await loadEventsByIds(db, rows.filter((row) => !known?.has(row.id)).map((row) => row.id));
  const knownErrors = rows.flatMap((row) => known?.get(row.id)?.fingerprint ?? []);
  const statuses = await errorGroupStatuses(db, knownErrors);
  const events = rows.map((row) => {
    const stored = known?.get(row.id);
    return stored ? asRead(stored, statuses) : byId.get(row.id)!;
  });
  return { events, last: events.at(-1)?.position ?? after };
}

/**
 * An event as it was stored, shaped as loading it gives it, so that every instance publishes the
 * same: an error's group status as read now (`statuses`), like the instances that load the event.
 * (Its parameters are already in the order they are read in: events are prepared in it.)
 */
function asRead(stored: AuditEvent, statuses: Map<string, string>): AuditEvent {
  const { errorGroupStatus: _asStored, ...event } = stored;
  const status = stored.fingerprint ? statuses.get(stored.fingerprint) : undefined;
  return {
    ...event,
    ...(status ? { errorGroupStatus: status } : {}),
  };
}

/** The newest position readable now (everything at or before it has committed), or null for an empty log. */
export async function currentFeedPosition(db: Db): Promise<FeedPosition | null> {
  const [row] = await queryRows<{ tx_id: string; id: string }>(
    db,
    sql`select tx_id::text as tx_id, id::text as id from events
        where tx_id < ${COMMIT_HORIZON}
        order by events.tx_id desc, events.id desc limit 1`,
  );
  return row ? { txId: row.tx_id, id: row.id } : null;
}
