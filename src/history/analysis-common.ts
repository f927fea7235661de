import { and, sql, type SQL } from 'drizzle-orm';
import { AuditError } from '../errors.js';
import { filterConditions, type Connection, type EventFilter } from './events.js';

/** The filter as one SQL condition on the unaliased `events` table (`true` when empty). */
export function whereOf(filter: EventFilter, ...extra: SQL[]): SQL {
  return and(...filterConditions(filter), ...extra) ?? sql`true`;
}

/**
 * Ranked aggregates (sorted by a count, not by time) page by offset: the cursor is the position of
 * the next row. Rankings move as events arrive, so a later page is read against the data as it is then.
 */
export function decodeOffset(after: string | null | undefined): number {
  if (!after) return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(after, 'base64url').toString());
  if (!match) throw new AuditError('INVALID_CURSOR', `"${after.slice(0, 100)}" is not a cursor this service gave out`);
  return Number(match[1]);
}

export const encodeOffset = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

/** A page of `first` rows from `rows` (fetched with `first + 1`), starting at `offset`. */
export function offsetPage<T>(rows: T[], first: number, offset: number): Connection<T> {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node, i) => ({ cursor: encodeOffset(offset + i + 1), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A UTC day as YYYY-MM-DD, computed in SQL. */
export const utcDay = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD')`;

/** Numbers come back from postgres.js as strings for numeric/bigint; this normalises both drivers. */
export const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
export const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
