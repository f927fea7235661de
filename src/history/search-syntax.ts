import type { Db } from '../db/client.js';
import { EVENT_SOURCES, type AuditEvent, type EventSource } from '../audit/model.js';
import { isUuid } from '../audit/validate.js';
import { AuditError } from '../errors.js';
import { findEvents, type Connection, type EventFilter, type PageArgs } from './events.js';

/**
 * The `key:value` search syntax of log tools, parsed into an EventFilter:
 *
 *   type:query-* user:alice entity:query/42 source:ui since:2026-01-01 error:true "free text"
 *
 * Keys: type (wildcard `*`), category, user, group, entity (type/id), session, source, since
 * (inclusive), until (exclusive), error (true/false). A value may be quoted ("a b") and list keys
 * take commas (type:a,b). Other words and quoted phrases must all appear in the message. A parse
 * error is INVALID_QUERY with the 0-based `position` of the offending character.
 */
export const SEARCH_KEYS = ['type', 'category', 'user', 'group', 'entity', 'session', 'source', 'since', 'until', 'error'] as const;
type SearchKey = (typeof SEARCH_KEYS)[number];

const MAX_QUERY = 2000;
const TYPE_PATTERN = /^[a-z0-9*]+(?:[-._:][a-z0-9*]+)*$/;

function fail(message: string, position: number, query: string): never {
  throw new AuditError('INVALID_QUERY', `query, at position ${position}: ${message}`, { field: 'query', position, query: query.slice(0, 200) });
}

interface Token {
  key: string | null;
  value: string;
  /** Where the token starts, and where its value starts. */
  at: number;
  valueAt: number;
}

/** Splits on whitespace outside quotes; `key:"quoted value"` and `"phrase"` keep their spaces. */
function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const readValue = (start: number): { value: string; end: number } => {
    if (query[start] === '"') {
      const close = query.indexOf('"', start + 1);
      if (close < 0) fail('a quote that is never closed', start, query);
      const after = query[close + 1];
      if (after !== undefined && !/\s/.test(after)) fail('expected a space after the closing quote', close + 1, query);
      return { value: query.slice(start + 1, close), end: close + 1 };
    }
    let end = start;
    while (end < query.length && !/\s/.test(query[end]!)) {
      if (query[end] === '"') fail('a quote inside a word; quote the whole value', end, query);
      end++;
    }
    return { value: query.slice(start, end), end };
  };
  while (i < query.length) {
    if (/\s/.test(query[i]!)) {
      i++;
      continue;
    }
    const key = /^([a-zA-Z]+):/.exec(query.slice(i));
    if (key) {
      const valueAt = i + key[0].length;
      if (valueAt >= query.length || /\s/.test(query[valueAt]!)) fail(`"${key[1]}:" needs a value`, valueAt, query);
      const { value, end } = readValue(valueAt);
      tokens.push({ key: key[1]!.toLowerCase(), value, at: i, valueAt });
      i = end;
    } else {
      const { value, end } = readValue(i);
      tokens.push({ key: null, value, at: i, valueAt: i });
      i = end;
    }
  }
  return tokens;
}

function parseTime(token: Token, query: string): Date {
  const value = token.value;
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(iso) ? new Date(iso) : null;
  if (!time || Number.isNaN(time.getTime())) fail(`"${value}" is not a date (YYYY-MM-DD) or a time (ISO 8601 with a zone)`, token.valueAt, query);
  return time;
}

function list(token: Token, query: string): string[] {
  const items = token.value.split(',');
  let offset = token.valueAt;
  for (const item of items) {
    if (item === '') fail(`an empty item in the list of ${token.key}`, offset, query);
    offset += item.length + 1;
  }
  return items;
}

export function parseSearchQuery(query: string): EventFilter {
  if (query.length > MAX_QUERY) fail(`the query is longer than ${MAX_QUERY} characters`, MAX_QUERY, query);
  const filter: EventFilter = {};
  const seen = new Set<SearchKey>();
  const once = (token: Token, key: SearchKey) => {
    if (seen.has(key)) fail(`"${key}" is given twice`, token.at, query);
    seen.add(key);
  };
  for (const token of tokenize(query)) {
    if (token.key === null) {
      filter.textTerms = [...(filter.textTerms ?? []), token.value];
      continue;
    }
    if (!(SEARCH_KEYS as readonly string[]).includes(token.key)) {
      fail(`unknown key "${token.key}"; the keys are ${SEARCH_KEYS.join(', ')}`, token.at, query);
    }
    const key = token.key as SearchKey;
    switch (key) {
      case 'type': {
        const patterns = list(token, query);
        patterns.forEach((pattern) => {
          if (!TYPE_PATTERN.test(pattern)) fail(`"${pattern}" is not an event type name or pattern`, token.valueAt, query);
        });
        filter.typePatterns = [...(filter.typePatterns ?? []), ...patterns];
        break;
      }
      case 'category':
        filter.categories = [...(filter.categories ?? []), ...list(token, query)];
        break;
      case 'source': {
        const sources = list(token, query).map((s) => s.toUpperCase());
        const bad = sources.find((s) => !(EVENT_SOURCES as readonly string[]).includes(s));
        if (bad) fail(`"${bad.toLowerCase()}" is not a source; use ${EVENT_SOURCES.join(', ').toLowerCase()}`, token.valueAt, query);
        filter.sources = [...(filter.sources ?? []), ...(sources as EventSource[])];
        break;
      }
      case 'user':
        once(token, key);
        filter.user = token.value;
        break;
      case 'group':
        once(token, key);
        filter.group = token.value;
        break;
      case 'entity': {
        once(token, key);
        const slash = token.value.indexOf('/');
        if (slash <= 0 || slash === token.value.length - 1) fail(`entity takes type/id, as in entity:query/42`, token.valueAt, query);
        filter.entity = { type: token.value.slice(0, slash), id: token.value.slice(slash + 1) };
        break;
      }
      case 'session':
        once(token, key);
        if (!isUuid(token.value)) fail(`"${token.value}" is not a session id (a UUID)`, token.valueAt, query);
        filter.sessionId = token.value;
        break;
      case 'since':
      case 'until':
        once(token, key);
        filter[key] = parseTime(token, query);
        break;
      case 'error': {
        once(token, key);
        const value = token.value.toLowerCase();
        if (value !== 'true' && value !== 'false') fail(`error takes true or false, not "${token.value}"`, token.valueAt, query);
        filter.isError = value === 'true';
        break;
      }
    }
  }
  return filter;
}

/** The filter with the parsed query added; a condition may come from one of them, not both. */
export function withSearchQuery(filter: EventFilter, query: string | null | undefined): EventFilter {
  if (!query?.trim()) return filter;
  const parsed = parseSearchQuery(query);
  for (const [name, value] of Object.entries(parsed)) {
    const existing = filter[name as keyof EventFilter];
    if (value !== undefined && existing !== undefined && existing !== null && !(Array.isArray(existing) && existing.length === 0)) {
      throw new AuditError('INVALID_QUERY', `"${name}" is set both in filter and in query; set it in one of them`, { field: 'query' });
    }
  }
  return { ...filter, ...parsed };
}

/** `events(filter, query)`: the filter and the search query together, newest first. */
export function searchEvents(db: Db, filter: EventFilter, query: string | null | undefined, page: PageArgs): Promise<Connection<AuditEvent>> {
  return findEvents(db, withSearchQuery(filter, query), page);
}
