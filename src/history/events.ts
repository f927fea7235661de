import { and, desc, eq, gte, ilike, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { events, eventTypes, users } from '../db/schema.js';
import { AuditError } from '../errors.js';
import type { AuditEvent, EventParameterView, EventSource } from '../audit/model.js';

/** The filter shared by the `events` query, the subscriptions and an entity's activity. */
export interface EventFilter {
  types?: string[] | null | undefined;
  /** Type names where `*` matches any run of characters (`query-*`); any one may match. */
  typePatterns?: string[] | null | undefined;
  categories?: string[] | null | undefined;
  user?: string | null | undefined;
  /** Members of the group, directly or through child groups. */
  group?: string | null | undefined;
  entity?: { type: string; id: string } | null | undefined;
  sessionId?: string | null | undefined;
  sources?: EventSource[] | null | undefined;
  since?: Date | null | undefined;
  until?: Date | null | undefined;
  errorsOnly?: boolean | null | undefined;
  /** Only errors (true) or only non-errors (false). */
  isError?: boolean | null | undefined;
  /** Case-insensitive text in the message. */
  text?: string | null | undefined;
  /** Case-insensitive words or phrases that must all be in the message. */
  textTerms?: string[] | null | undefined;
}

/** A type pattern as a LIKE pattern: `*` → `%`, everything else literal. */
export function typePatternToLike(pattern: string): string {
  return escapeLike(pattern).replace(/\*/g, '%');
}

export interface PageArgs {
  first: number;
  after?: string | null | undefined;
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A keyset cursor: the time and id of the last row of a page (newest-first order). */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.getTime()}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  const match = /^(-?\d{1,15}):(\S{1,100})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new AuditError('INVALID_CURSOR', `"${cursor.slice(0, 100)}" is not a cursor this service gave out`);
  return { at: new Date(Number(match[1])), id: match[2]! };
}

export function checkPageSize(first: number, max: number): void {
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw new AuditError('PAGE_TOO_LARGE', `first must be between 0 and ${max}; it was ${first}`, { limit: max });
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Ids of the users in a group and all its descendant groups (cycles stop at the `union`). */
export function groupMemberIds(group: string): SQL {
  return sql`(with recursive tree(id) as (
      select id from groups where name = ${group}
      union select r.child_id from groups_relations r join tree on r.parent_id = tree.id)
    select u.id from users u where u.group_id in (select id from tree))`;
}

type Keyset = { at: Date; id: string };

/**
 * The filter as conditions on the `events` table (referenced unaliased, as `events`); `after` and
 * `limit` let the entity path stop early (see below).
 */
export function filterConditions(filter: EventFilter, after?: Keyset, limit?: number): SQL[] {
  const conditions: SQL[] = [];
  if (filter.types?.length) {
    conditions.push(inArray(events.eventTypeId, sql`(select id from event_types where name in ${filter.types})`));
  }
  if (filter.typePatterns?.length) {
    const likes = filter.typePatterns.map(typePatternToLike);
    conditions.push(inArray(events.eventTypeId, sql`(select id from event_types where name like any(select value from json_array_elements_text(${JSON.stringify(likes)}::json)))`));
  }
  if (filter.categories?.length) {
    conditions.push(inArray(events.eventTypeId, sql`(select id from event_types where category in ${filter.categories})`));
  }
  if (filter.user) conditions.push(inArray(events.userId, sql`(select id from users where login = ${filter.user})`));
  if (filter.group) conditions.push(inArray(events.userId, groupMemberIds(filter.group)));
  if (filter.entity) {
    // Driven from the entity's index range. When nothing else narrows the events, only the page's
    // rows are read (newest first, merged across monthly partitions), however long the history.
    const alone = !filter.types?.length && !filter.typePatterns?.length && !filter.categories?.length && !filter.user &&
      !filter.group && !filter.sessionId && !filter.sources?.length && !filter.errorsOnly && (filter.isError ?? null) === null &&
      !filter.text && !filter.textTerms?.length;
    conditions.push(sql`(${events.id}, ${events.occurredAt}) in (
      select v.event_id, v.occurred_at from event_parameter_values v
      where v.entity_id = (select id from entities where type = ${filter.entity.type} and external_id = ${filter.entity.id})
      ${filter.since ? sql`and v.occurred_at >= ${filter.since.toISOString()}::timestamptz` : sql``}
      ${filter.until ? sql`and v.occurred_at < ${filter.until.toISOString()}::timestamptz` : sql``}
      ${after ? sql`and (v.occurred_at, v.event_id) < (${after.at.toISOString()}::timestamptz, ${after.id}::bigint)` : sql``}
      ${alone && limit ? sql`group by v.occurred_at, v.event_id order by v.occurred_at desc, v.event_id desc limit ${limit}` : sql``})`);
  }
  if (filter.sessionId) conditions.push(eq(events.sessionId, filter.sessionId));
  if (filter.sources?.length) conditions.push(inArray(events.source, filter.sources));
  if (filter.since) conditions.push(gte(events.occurredAt, filter.since));
  if (filter.until) conditions.push(lt(events.occurredAt, filter.until));
  if (filter.errorsOnly) conditions.push(eq(events.isError, true));
  if (filter.isError !== null && filter.isError !== undefined) conditions.push(eq(events.isError, filter.isError));
  if (filter.text) conditions.push(ilike(events.description, `%${escapeLike(filter.text)}%`));
  for (const term of filter.textTerms ?? []) conditions.push(ilike(events.description, `%${escapeLike(term)}%`));
  return conditions;
}

const eventColumns = {
  id: sql<string>`${events.id}::text`,
  txId: sql<string>`${events.txId}::text`,
  type: eventTypes.name,
  category: eventTypes.category,
  isError: events.isError,
  occurredAt: events.occurredAt,
  recordedAt: events.recordedAt,
  userId: events.userId,
  userLogin: users.login,
  sessionId: events.sessionId,
  source: events.source,
  description: events.description,
  durationMs: events.durationMs,
  errorMessage: events.errorMessage,
  stackTrace: events.errorStackTrace,
  fingerprint: events.errorFingerprint,
};

async function selectEvents(db: Db, where: SQL | undefined, limit: number): Promise<AuditEvent[]> {
  const rows = await db
    .select(eventColumns)
    .from(events)
    .innerJoin(eventTypes, eq(eventTypes.id, events.eventTypeId))
    .leftJoin(users, eq(users.id, events.userId))
    .where(where)
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(limit);
  const parameters = await loadParameters(db, rows.map((row) => [row.id, row.occurredAt.toISOString()]));
  return rows.map(({ txId, ...row }) => ({
    ...row,
    position: { txId, id: row.id },
    source: row.source as EventSource,
    parameters: parameters.get(row.id) ?? [],
  }));
}

/** Parameters of events, looked up by (id, time) so that each probe reads one monthly partition. */
async function loadParameters(db: Db, keys: Array<[string, string]>): Promise<Map<string, EventParameterView[]>> {
  const byEvent = new Map<string, EventParameterView[]>();
  if (keys.length === 0) return byEvent;
  const rows = await queryRows<{
    event_id: string;
    name: string;
    value: string | null;
    entity_id: string | null;
    entity_type: string | null;
    external_id: string | null;
    entity_name: string | null;
  }>(
    db,
    sql`select v.event_id::text as event_id, p.name, v.value, en.id as entity_id, en.type as entity_type,
               en.external_id, en.name as entity_name
        from event_parameter_values v
        join event_parameters p on p.id = v.parameter_id
        left join entities en on en.id = v.entity_id
        where (v.event_id, v.occurred_at) in (
          select (p->>0)::bigint, (p->>1)::timestamptz from json_array_elements(${JSON.stringify(keys)}::json) p)
        order by v.event_id, p.name, v.position`,
  );
  for (const row of rows) {
    const list = byEvent.get(row.event_id) ?? [];
    list.push({
      name: row.name,
      value: row.value,
      entity: row.entity_id
        ? { id: row.entity_id, type: row.entity_type!, externalId: row.external_id!, name: row.entity_name }
        : null,
    });
    byEvent.set(row.event_id, list);
  }
  return byEvent;
}

export async function loadEventsByIds(db: Db, ids: string[]): Promise<Map<string, AuditEvent>> {
  const numeric = ids.filter((id) => /^\d{1,18}$/.test(id));
  if (numeric.length === 0) return new Map();
  const found = await selectEvents(db, inArray(events.id, numeric.map(Number)), numeric.length);
  return new Map(found.map((event) => [event.id, event]));
}

export async function findEvent(db: Db, id: string): Promise<AuditEvent | null> {
  return (await loadEventsByIds(db, [id])).get(id) ?? null;
}

/** Events matching the filter, newest first, one keyset page at a time. */
export async function findEvents(db: Db, filter: EventFilter, page: PageArgs): Promise<Connection<AuditEvent>> {
  const after = page.after ? decodeCursor(page.after) : undefined;
  if (after && !/^\d{1,18}$/.test(after.id)) throw new AuditError('INVALID_CURSOR', 'the cursor does not point at an event');
  const conditions = filterConditions(filter, after, page.first + 1);
  if (after) {
    conditions.push(sql`(${events.occurredAt}, ${events.id}) < (${after.at.toISOString()}::timestamptz, ${after.id}::bigint)`);
    // A plain bound as well, so that monthly partitions after the cursor are not read at all.
    conditions.push(sql`${events.occurredAt} <= ${after.at.toISOString()}::timestamptz`);
  }
  const rows = await selectEvents(db, and(...conditions), page.first + 1);
  const nodes = rows.slice(0, page.first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.occurredAt, node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
