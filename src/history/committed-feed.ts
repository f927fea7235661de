import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { AuditError } from '../errors.js';
import type { AuditEvent } from '../audit/model.js';
import { loadEventsByIds } from './events.js';

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
 * Committed events after a position, oldest transaction first, never skipping one that commits
 * later: event ids are taken before commit, so id order is not commit order. Only transactions
 * older than the oldest one still running are read, and every transaction below that horizon has
 * finished, so nothing can appear behind the returned position afterwards.
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
        where tx_id < pg_snapshot_xmin(pg_current_snapshot())
        ${after ? sql`and (tx_id, id) > (${after.txId}::xid8, ${after.id}::bigint)` : sql``}
        order by events.tx_id, events.id limit ${limit}`,
  );
  const byId = await loadEventsByIds(db, rows.filter((row) => !known?.has(row.id)).map((row) => row.id));
  const events = rows.map((row) => {
    const stored = known?.get(row.id);
    return stored ? asRead(stored) : byId.get(row.id)!;
  });
  return { events, last: events.at(-1)?.position ?? after };
}

/**
 * An event as it was stored, shaped as loading it gives it, so that every instance publishes the
 * same: parameters by name then position (the order they are read in), and no errorGroupStatus
 * (which only the storing instance knows; a reader looks the status up).
 */
function asRead(stored: AuditEvent): AuditEvent {
  const { errorGroupStatus: _status, ...event } = stored;
  return { ...event, parameters: [...stored.parameters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** The newest position readable now (everything at or before it has committed), or null for an empty log. */
export async function currentFeedPosition(db: Db): Promise<FeedPosition | null> {
  const [row] = await queryRows<{ tx_id: string; id: string }>(
    db,
    sql`select tx_id::text as tx_id, id::text as id from events
        where tx_id < pg_snapshot_xmin(pg_current_snapshot())
        order by events.tx_id desc, events.id desc limit 1`,
  );
  return row ? { txId: row.tx_id, id: row.id } : null;
}
