import { sql } from 'drizzle-orm';
import type { Ingestor } from '../audit/ingest.js';
import type { AuditEvent, EntityRef, EventSource } from '../audit/model.js';
import { queryRows, type Db } from '../db/client.js';
import type { Limits } from '../env.js';
import { AuditError } from '../errors.js';
import { checkPageSize, loadEventsByIds, type Connection, type PageArgs } from '../history/events.js';
import { applyChange, CHANGE_ACTIONS, currentState, lockEntity, saveState, type ChangeAction, type ChangeInput } from './state.js';

export interface ChangeDeps {
  db: Db;
  ingestor: Ingestor;
  limits: Limits;
}

/** Who acts: the credential's user or the `actor` argument; administrators approve anything. */
export interface Actor {
  actor: string | null;
  isAdmin: boolean;
}

/**
 * The acting user: the credential's user when it is bound to one, else the `actor` argument. A
 * credential bound to a user cannot act as someone else.
 */
export function actingUser(boundLogin: string | null, actorArgument: string | null | undefined, isAdmin: boolean): Actor {
  const named = actorArgument?.trim() || null;
  if (boundLogin && named && named !== boundLogin) {
    throw new AuditError('ACTOR_MISMATCH', `actor: this credential acts as ${boundLogin}, not ${named}`, { field: 'actor' });
  }
  return { actor: boundLogin ?? named, isAdmin };
}

/** One stored change. `value` is what was set, added or removed; `previousValue` what it replaced. */
export interface ChangeView extends ChangeInput {
  sequence: number;
  previousValue: string | null;
}

/** apply: recorded or reverted; propose: a suggestion; approve: an approved suggestion, applied. */
export type ChangeType = 'apply' | 'propose' | 'approve';

/** An event with its changes on one entity. */
export interface ChangesetView {
  event: AuditEvent;
  entityId: string;
  /** The entity version this changeset made; null for a proposal, which changes nothing. */
  version: number | null;
  changeType: ChangeType;
  changes: ChangeView[];
}

export const MAX_CHANGES = 1000;
const MAX_FIELD = 1000;
/** Types the suggestion workflow records itself. */
const WORKFLOW_TYPES = /^(suggestion\.|changeset\.applied$)/;

export interface RawChange {
  action?: ChangeAction | null | undefined;
  field: string;
  value?: string | null | undefined;
  dataType?: string | null | undefined;
  language?: string | null | undefined;
}

function bad(field: string, message: string, code: 'BAD_USER_INPUT' | 'VALUE_TOO_LONG' = 'BAD_USER_INPUT'): never {
  throw new AuditError(code, `${field}: ${message}`, { field });
}

/** Checks a list of changes: 1 to MAX_CHANGES, each with a field, and a value unless it clears with SET. */
export function validateChanges(raw: readonly RawChange[], limits: Limits): ChangeInput[] {
  if (raw.length === 0) bad('changes', 'must hold at least one change');
  if (raw.length > MAX_CHANGES) bad('changes', `holds ${raw.length} changes; the limit is ${MAX_CHANGES}`);
  return raw.map((c, i) => {
    const at = `changes[${i}]`;
    const action = c.action ?? 'SET';
    if (!CHANGE_ACTIONS.includes(action)) bad(`${at}.action`, `must be one of ${CHANGE_ACTIONS.join(', ')}`);
    const field = c.field.trim();
    if (field.length === 0) bad(`${at}.field`, 'must not be empty');
    if (field.length > MAX_FIELD) bad(`${at}.field`, `is ${field.length} characters long; the limit is ${MAX_FIELD}`, 'VALUE_TOO_LONG');
    const value = c.value ?? null;
    if (value === null && action !== 'SET') bad(`${at}.value`, `${action} needs a value (only SET may clear a field with null)`);
    if (value !== null && value.length > limits.MAX_PARAMETER_VALUE_LENGTH) {
      bad(`${at}.value`, `is ${value.length} characters long; the limit is ${limits.MAX_PARAMETER_VALUE_LENGTH}`, 'VALUE_TOO_LONG');
    }
    for (const [name, text] of [['dataType', c.dataType], ['language', c.language]] as const) {
      if (text && text.length > 200) bad(`${at}.${name}`, `is ${text.length} characters long; the limit is 200`, 'VALUE_TOO_LONG');
    }
    return { action, field, value, dataType: c.dataType || null, language: c.language || null };
  });
}

export function checkChangeType(type: string): void {
  if (WORKFLOW_TYPES.test(type)) {
    throw new AuditError('INVALID_EVENT_TYPE', `type: ${type} is recorded by the suggestion workflow, not by recordChanges`, { field: 'type' });
  }
}

interface ChangeRowOptions {
  changeType: ChangeType;
  /** Applied changes bump the entity's version; proposals only read its state. */
  apply: boolean;
  parentEventId?: string | null;
}

/**
 * Inside the event's transaction: stores `changes` as the event's changes, in sequence, each with
 * the previous value it replaces. Applied changes lock the entity first, so concurrent writers read
 * each other's results, and advance its version and current state.
 */
export async function storeChanges(
  tx: Db,
  event: AuditEvent,
  entityId: string,
  changes: ChangeInput[],
  options: ChangeRowOptions,
): Promise<{ version: number | null; changes: ChangeView[] }> {
  if (options.apply) await lockEntity(tx, entityId);
  const state = await currentState(tx, entityId);
  const version = options.apply ? state.version + 1 : null;
  const views: ChangeView[] = changes.map((change, i) => ({ ...change, sequence: i + 1, previousValue: applyChange(state.fields, change) }));
  const rows = views.map((c) => ({
    event_id: event.id,
    occurred_at: event.occurredAt.toISOString(),
    sequence: c.sequence,
    action: c.action,
    field: c.field,
    previous_value: c.previousValue,
    new_value: c.value,
    data_type: c.dataType,
    language: c.language,
    entity_id: entityId,
    entity_version: version,
    change_type: options.changeType,
    parent_event_id: options.parentEventId ?? null,
  }));
  await tx.execute(sql`
    insert into event_changes (event_id, occurred_at, sequence, action, field, previous_value, new_value, data_type, language,
                               entity_id, entity_version, change_type, parent_event_id)
    select event_id, occurred_at, sequence, action, field, previous_value, new_value, data_type, language,
           entity_id, entity_version, change_type, parent_event_id
    from json_to_recordset(${JSON.stringify(rows)}::json) as r(
      event_id bigint, occurred_at timestamptz, sequence int, action text, field text, previous_value text, new_value text,
      data_type text, language text, entity_id uuid, entity_version int, change_type text, parent_event_id bigint)`);
  if (version !== null) await saveState(tx, entityId, version, state.fields);
  return { version, changes: views };
}

/** The internal id of an event's `target` entity (every changes event names its target so). */
export function targetId(event: AuditEvent): string {
  const target = event.parameters.find((p) => p.name === 'target' && p.entity);
  if (!target?.entity) throw new Error(`event ${event.id} has no target entity`);
  return target.entity.id;
}

export interface RecordChangesInput {
  target: EntityRef;
  type?: string | null | undefined;
  source?: EventSource | null | undefined;
  message?: string | null | undefined;
  changes: readonly RawChange[];
}

/** Records an event with its changes on the target entity, in one transaction; published after commit. */
export async function recordChanges(deps: ChangeDeps, input: RecordChangesInput, who: Actor): Promise<ChangesetView> {
  const type = input.type ?? 'resource.update';
  checkChangeType(type);
  const changes = validateChanges(input.changes, deps.limits);
  let result = null as ChangesetView | null;
  await deps.ingestor.log(
    { type, user: who.actor, source: input.source ?? 'API', message: input.message ?? null, parameters: { target: input.target } },
    {
      withinTransaction: async (tx, [event]) => {
        const entityId = targetId(event!);
        const stored = await storeChanges(tx, event!, entityId, changes, { changeType: 'apply', apply: true });
        result = { event: event!, entityId, changeType: 'apply', ...stored };
      },
    },
  );
  return result!;
}

/** Changesets of an entity, newest first (by version), each with its changes in sequence. */
export async function entityChanges(db: Db, entityId: string, page: PageArgs, maxPage: number): Promise<Connection<ChangesetView>> {
  checkPageSize(page.first, maxPage);
  let before: number | null = null;
  if (page.after) {
    const match = /^v:(\d{1,9})$/.exec(Buffer.from(page.after, 'base64url').toString());
    if (!match) throw new AuditError('INVALID_CURSOR', `"${page.after.slice(0, 100)}" is not a cursor this service gave out`);
    before = Number(match[1]);
  }
  const rows = await queryRows<{ event_id: string; version: number }>(
    db,
    // Every changeset has a change number 1: one row per changeset, straight off the index.
    sql`select event_id::text as event_id, entity_version as version from event_changes
        where entity_id = ${entityId} and entity_version is not null and sequence = 1 ${before === null ? sql`` : sql`and entity_version < ${before}`}
        order by entity_version desc limit ${page.first + 1}`,
  );
  const pageRows = rows.slice(0, page.first);
  const sets = await loadChangesets(db, pageRows.map((r) => r.event_id));
  const edges = pageRows.map((r) => ({
    cursor: Buffer.from(`v:${Number(r.version)}`).toString('base64url'),
    node: sets.get(r.event_id)!,
  }));
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** Events with their changes, by event id. */
export async function loadChangesets(db: Db, eventIds: string[]): Promise<Map<string, ChangesetView>> {
  const result = new Map<string, ChangesetView>();
  if (eventIds.length === 0) return result;
  const [events, rows] = await Promise.all([
    loadEventsByIds(db, eventIds),
    queryRows<{
      event_id: string;
      entity_id: string;
      version: number | null;
      change_type: ChangeType;
      sequence: number;
      action: ChangeAction;
      field: string;
      previous_value: string | null;
      new_value: string | null;
      data_type: string | null;
      language: string | null;
    }>(
      db,
      sql`select event_id::text as event_id, entity_id, entity_version as version, change_type, sequence, action, field,
                 previous_value, new_value, data_type, language
          from event_changes
          where event_id in (select value::bigint from json_array_elements_text(${JSON.stringify(eventIds)}::json))
          order by event_id, sequence`,
    ),
  ]);
  for (const r of rows) {
    const event = events.get(r.event_id);
    if (!event) continue;
    let set = result.get(r.event_id);
    if (!set) {
      set = { event, entityId: r.entity_id, version: r.version === null ? null : Number(r.version), changeType: r.change_type, changes: [] };
      result.set(r.event_id, set);
    }
    set.changes.push({
      sequence: Number(r.sequence),
      action: r.action,
      field: r.field,
      value: r.new_value,
      previousValue: r.previous_value,
      dataType: r.data_type,
      language: r.language,
    });
  }
  return result;
}
