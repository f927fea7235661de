import { createHash } from 'node:crypto';
import { asc, eq, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { errorFingerprintRules } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { errorFingerprint } from '../audit/fingerprint.js';
import type { AuditEvent } from '../audit/model.js';
import { decodeOffset, num, offsetPage, utcDay, whereOf } from './analysis-common.js';
import type { Connection, EventFilter, PageArgs } from './events.js';

export const ERROR_GROUP_STATUSES = ['OPEN', 'RESOLVED', 'IGNORED', 'REGRESSED'] as const;
export type ErrorGroupStatus = (typeof ERROR_GROUP_STATUSES)[number];
export const RULE_FIELDS = ['MESSAGE', 'STACK_TRACE'] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export interface ErrorGroupsArgs {
  filter: EventFilter;
  statuses?: ErrorGroupStatus[] | null | undefined;
  sort: 'COUNT' | 'LAST_SEEN';
  page: PageArgs;
}

export interface ErrorGroupView {
  fingerprint: string;
  status: ErrorGroupStatus;
  type: string;
  message: string | null;
  stackTrace: string | null;
  count: number;
  distinctUsers: number;
  firstSeen: Date;
  lastSeen: Date;
  /** Fingerprints merged into this group. */
  mergedFingerprints: string[];
  /** The filter the group was counted under; its day counts and preceding actions use it too. */
  filter: EventFilter;
}

export interface PrecedingAction {
  type: string;
  /** Occurrences of the error that had this type among the events just before them. */
  count: number;
  /** count / occurrences of the error within a session. */
  share: number;
}

export interface FingerprintRule {
  id: number;
  field: RuleField;
  pattern: string;
  fingerprint: string;
  createdAt: Date;
}

/** The fingerprints that count as `fingerprint`: itself and every group merged into it. */
const members = (fingerprint: string | SQL): SQL =>
  sql`(select ${fingerprint}::text union all select g.fingerprint from error_groups g where g.merged_into = ${fingerprint})`;

const toDate = (value: unknown) => (value instanceof Date ? value : new Date(String(value)));

/** One row per group (merged fingerprints count under the group they were merged into). */
export async function findErrorGroups(db: Db, args: ErrorGroupsArgs, only?: string): Promise<Connection<ErrorGroupView>> {
  const offset = decodeOffset(args.page.after);
  const statuses = args.statuses?.length ? args.statuses : null;
  const order = args.sort === 'LAST_SEEN' ? sql`last_seen desc, fingerprint` : sql`count desc, last_seen desc, fingerprint`;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`with ev as (
          select events.user_id, events.occurred_at, coalesce(m.merged_into, events.error_fingerprint) as fingerprint
          from events left join error_groups m on m.fingerprint = events.error_fingerprint
          where ${whereOf(args.filter, sql`events.is_error`, sql`events.error_fingerprint is not null`)}
        ), grouped as (
          select fingerprint, count(*)::int as count, count(distinct user_id)::int as users,
                 min(occurred_at) as first_seen, max(occurred_at) as last_seen
          from ev ${only ? sql`where fingerprint = ${only}` : sql``} group by fingerprint
        ), page as (
          select grouped.*, coalesce(s.status, 'OPEN') as status from grouped
          left join error_groups s on s.fingerprint = grouped.fingerprint
          ${statuses ? sql`where coalesce(s.status, 'OPEN') in ${statuses}` : sql``}
          order by ${order} limit ${args.page.first + 1} offset ${offset})
        select page.*, rep.type, rep.error_message, rep.error_stack_trace,
               array(select g.fingerprint from error_groups g where g.merged_into = page.fingerprint order by 1) as merged
        from page cross join lateral (
          select t.name as type, e.error_message, e.error_stack_trace from events e join event_types t on t.id = e.event_type_id
          where e.is_error and e.error_fingerprint in ${members(sql`page.fingerprint`)}
          order by e.occurred_at desc, e.id desc limit 1) rep
        order by ${order}`,
  );
  const groups = rows.map(
    (row): ErrorGroupView => ({
      fingerprint: String(row.fingerprint),
      status: row.status as ErrorGroupStatus,
      type: String(row.type),
      message: (row.error_message as string | null) ?? null,
      stackTrace: (row.error_stack_trace as string | null) ?? null,
      count: num(row.count),
      distinctUsers: num(row.users),
      firstSeen: toDate(row.first_seen),
      lastSeen: toDate(row.last_seen),
      mergedFingerprints: (row.merged as string[] | null) ?? [],
      filter: args.filter,
    }),
  );
  return offsetPage(groups, args.page.first, offset);
}

export async function findErrorGroup(db: Db, fingerprint: string): Promise<ErrorGroupView | null> {
  const page = await findErrorGroups(db, { filter: {}, sort: 'COUNT', page: { first: 1 } }, fingerprint);
  return page.edges[0]?.node ?? null;
}

/** Occurrences of the group per UTC day, oldest first. */
export async function errorGroupDays(db: Db, group: ErrorGroupView): Promise<Array<{ key: string; count: number }>> {
  const rows = await queryRows<{ day: string; count: unknown }>(
    db,
    sql`select ${utcDay(sql`events.occurred_at`)} as day, count(*)::int as count from events
        where ${whereOf(group.filter, sql`events.is_error`, sql`events.error_fingerprint in ${members(group.fingerprint)}`)}
        group by 1 order by 1`,
  );
  return rows.map((row) => ({ key: row.day, count: num(row.count) }));
}

export interface PrecedingOptions {
  /** How many events before each occurrence to look at. */
  events: number;
  /** How far back before each occurrence to look. */
  minutes: number;
  limit: number;
}

/** Most recent occurrences looked at for preceding actions: bounds the cost on huge groups. */
const PRECEDING_SAMPLE = 10_000;

/**
 * The event types that come just before the error in the same session (the last `events` events
 * within `minutes`), ranked by how many occurrences they preceded.
 */
export async function precedingActions(db: Db, group: ErrorGroupView, options: PrecedingOptions): Promise<PrecedingAction[]> {
  if (!Number.isInteger(options.events) || options.events < 1 || options.events > 100) {
    throw new AuditError('BAD_USER_INPUT', `lastEvents must be 1 to 100; it was ${options.events}`, { field: 'lastEvents' });
  }
  if (!Number.isFinite(options.minutes) || options.minutes <= 0 || options.minutes > 10_080) {
    throw new AuditError('BAD_USER_INPUT', `withinMinutes must be above 0 and at most 10080; it was ${options.minutes}`, { field: 'withinMinutes' });
  }
  const rows = await queryRows<{ type: string; count: unknown; total: unknown }>(
    db,
    sql`with err as (
          select events.id, events.occurred_at, events.session_id from events
          where ${whereOf(group.filter, sql`events.is_error`, sql`events.session_id is not null`, sql`events.error_fingerprint in ${members(group.fingerprint)}`)}
          order by events.occurred_at desc limit ${PRECEDING_SAMPLE}
        ), before as (
          select err.id as error_id, p.event_type_id from err cross join lateral (
            select p.event_type_id from events p
            where p.session_id = err.session_id and (p.occurred_at, p.id) < (err.occurred_at, err.id)
              and p.occurred_at >= err.occurred_at - make_interval(secs => ${options.minutes * 60}::float8)
            order by p.occurred_at desc, p.id desc limit ${options.events}) p
        )
        select t.name as type, count(distinct before.error_id)::int as count, (select count(*) from err)::int as total
        from before join event_types t on t.id = before.event_type_id
        group by t.name order by 2 desc, 1 limit ${options.limit}`,
  );
  return rows.map((row) => ({ type: row.type, count: num(row.count), share: num(row.count) / Math.max(1, num(row.total)) }));
}

async function canonical(db: Db, fingerprint: string): Promise<string> {
  const [row] = await queryRows<{ merged_into: string | null; seen: boolean }>(
    db,
    sql`select (select merged_into from error_groups where fingerprint = ${fingerprint}) as merged_into,
               exists(select 1 from events where is_error and error_fingerprint = ${fingerprint}) as seen`,
  );
  if (row?.merged_into) return row.merged_into;
  if (!row?.seen) throw new AuditError('NOT_FOUND', `no error has the fingerprint ${fingerprint}`, { fingerprint });
  return fingerprint;
}

/** Sets a group's status (a merged fingerprint sets the status of the group it was merged into). */
export async function setErrorGroupStatus(db: Db, fingerprint: string, status: Exclude<ErrorGroupStatus, 'REGRESSED'>): Promise<ErrorGroupView> {
  const target = await canonical(db, fingerprint);
  await db.execute(sql`
    insert into error_groups (fingerprint, status, resolved_at, updated_at)
    values (${target}, ${status}, case when ${status} = 'RESOLVED' then now() end, now())
    on conflict (fingerprint) do update set status = excluded.status,
      resolved_at = case when excluded.status = 'RESOLVED' then now() else error_groups.resolved_at end, updated_at = now()`);
  return (await findErrorGroup(db, target))!;
}

/** Merges `source` (and whatever was merged into it) into `target`; the target keeps its status. */
export async function mergeErrorGroups(db: Db, source: string, target: string): Promise<ErrorGroupView> {
  const into = await canonical(db, target);
  const from = await canonical(db, source);
  if (from === into) throw new AuditError('BAD_USER_INPUT', `${source} and ${target} are already one group`, { field: 'source' });
  await db.transaction(async (tx) => {
    await tx.execute(sql`update error_groups set merged_into = ${into}, updated_at = now() where merged_into = ${from}`);
    await tx.execute(sql`
      insert into error_groups (fingerprint, status, merged_into) values (${from}, 'OPEN', ${into})
      on conflict (fingerprint) do update set merged_into = excluded.merged_into, updated_at = now()`);
  });
  return (await findErrorGroup(db, into))!;
}

/** Rules are re-read at most this often, so that rules added on another instance apply here too. */
const RULES_TTL_MS = 30_000;
const MAX_PATTERN = 500;

interface CompiledRule {
  field: RuleField;
  regex: RegExp;
  fingerprint: string;
}

/**
 * The write-path side of error groups: fingerprints new errors (fingerprint rules first, from an
 * in-memory cache) and, in the storing transaction, reopens resolved groups that occur again.
 */
export class ErrorTriage {
  private rules: CompiledRule[] = [];
  private loadedAt = 0;

  constructor(private readonly db: Db) {}

  async load(db: Db = this.db): Promise<void> {
    const rows = await db.select().from(errorFingerprintRules).orderBy(asc(errorFingerprintRules.id));
    this.rules = rows.flatMap((row) => {
      try {
        return [{ field: row.field as RuleField, regex: new RegExp(row.pattern, 'i'), fingerprint: row.fingerprint }];
      } catch {
        return [];
      }
    });
    this.loadedAt = Date.now();
  }

  /** The group of a new error: the first matching rule's, or the normalised-trace fingerprint. */
  fingerprint(type: string, message: string | null, stackTrace: string | null): string {
    for (const rule of this.rules) {
      const text = rule.field === 'MESSAGE' ? message : stackTrace;
      if (text !== null && rule.regex.test(text)) return rule.fingerprint;
    }
    return errorFingerprint(type, message, stackTrace);
  }

  /**
   * Inside the storing transaction: marks RESOLVED groups that occur again as REGRESSED and sets
   * each stored error's `errorGroupStatus`.
   */
  async recordOccurrences(tx: Db, stored: AuditEvent[]): Promise<void> {
    const errors = stored.filter((e) => e.fingerprint !== null);
    if (errors.length === 0) return;
    const fps = JSON.stringify([...new Set(errors.map((e) => e.fingerprint!))]);
    const rows = await queryRows<{ fp: string; status: ErrorGroupStatus }>(
      tx,
      sql`with f as (select distinct value as fp from json_array_elements_text(${fps}::json)),
          c as (select f.fp, coalesce(g.merged_into, f.fp) as canonical from f left join error_groups g on g.fingerprint = f.fp),
          reopened as (
            update error_groups set status = 'REGRESSED', regressed_at = now(), updated_at = now()
            where status = 'RESOLVED' and fingerprint in (select canonical from c) returning fingerprint)
          select c.fp, case when r.fingerprint is not null then 'REGRESSED' else coalesce(s.status, 'OPEN') end as status
          from c left join error_groups s on s.fingerprint = c.canonical left join reopened r on r.fingerprint = c.canonical`,
    );
    const status = new Map(rows.map((row) => [row.fp, row.status]));
    for (const event of errors) event.errorGroupStatus = status.get(event.fingerprint!) ?? 'OPEN';
    if (Date.now() - this.loadedAt > RULES_TTL_MS) await this.load(tx);
  }

  async listRules(): Promise<FingerprintRule[]> {
    const rows = await this.db.select().from(errorFingerprintRules).orderBy(asc(errorFingerprintRules.id));
    return rows.map((row) => ({ ...row, field: row.field as RuleField }));
  }

  /** Adds a rule; errors stored from now on that match it join the group `fingerprint`. */
  async addRule(field: RuleField, pattern: string, fingerprint?: string | null): Promise<FingerprintRule> {
    if (pattern.length === 0 || pattern.length > MAX_PATTERN) {
      throw new AuditError('INVALID_RULE', `pattern must be 1 to ${MAX_PATTERN} characters`, { field: 'pattern' });
    }
    try {
      new RegExp(pattern, 'i');
    } catch (error) {
      throw new AuditError('INVALID_RULE', `pattern is not a regular expression: ${(error as Error).message}`, { field: 'pattern' });
    }
    const group = fingerprint?.trim() || `rule-${createHash('sha256').update(`${field}\n${pattern}`).digest('hex').slice(0, 11)}`;
    if (group.length > 100) throw new AuditError('INVALID_RULE', 'fingerprint must be at most 100 characters', { field: 'fingerprint' });
    const [row] = await this.db.insert(errorFingerprintRules).values({ field, pattern, fingerprint: group }).returning();
    await this.load();
    return { ...row!, field };
  }

  async removeRule(id: number): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    const removed = await this.db.delete(errorFingerprintRules).where(eq(errorFingerprintRules.id, id)).returning();
    await this.load();
    return removed.length > 0;
  }
}
