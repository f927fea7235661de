import { queryRows, type Db } from '../db/client.js';
import type { AuditEvent } from '../audit/model.js';
import { groupMemberIds, type EventFilter } from '../history/events.js';
import { sql } from 'drizzle-orm';

/**
 * The `events` filter as an in-memory test for live events. Group membership is read once, when
 * the subscription starts.
 */
export async function compileFilter(db: Db, filter: EventFilter): Promise<(event: AuditEvent) => boolean> {
  const members = filter.group
    ? new Set((await queryRows<{ id: string }>(db, sql`select id from ${groupMemberIds(filter.group)} as m(id)`)).map((r) => r.id))
    : null;
  const types = filter.types?.length ? new Set(filter.types) : null;
  const categories = filter.categories?.length ? new Set(filter.categories) : null;
  const sources = filter.sources?.length ? new Set<string>(filter.sources) : null;
  const text = filter.text?.toLowerCase();
  const terms = (filter.textTerms ?? []).map((term) => term.toLowerCase());
  const typePatterns = filter.typePatterns?.length
    ? filter.typePatterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`))
    : null;
  return (event) =>
    (!types || types.has(event.type)) &&
    (!typePatterns || typePatterns.some((p) => p.test(event.type))) &&
    (!categories || categories.has(event.category)) &&
    (!filter.user || event.userLogin === filter.user) &&
    (!members || (event.userId !== null && members.has(event.userId))) &&
    (!filter.entity ||
      event.parameters.some((p) => p.entity?.type === filter.entity!.type && p.entity.externalId === filter.entity!.id)) &&
    (!filter.sessionId || event.sessionId === filter.sessionId) &&
    (!sources || sources.has(event.source)) &&
    (!filter.since || event.occurredAt >= filter.since) &&
    (!filter.until || event.occurredAt < filter.until) &&
    (!filter.errorsOnly || event.isError) &&
    (filter.isError === null || filter.isError === undefined || event.isError === filter.isError) &&
    terms.every((term) => event.description?.toLowerCase().includes(term) ?? false) &&
    (!text || (event.description?.toLowerCase().includes(text) ?? false));
}
