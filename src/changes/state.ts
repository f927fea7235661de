import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

export const CHANGE_ACTIONS = ['ADD', 'REMOVE', 'SET'] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

/** One change as a caller asks for it (already validated). */
export interface ChangeInput {
  action: ChangeAction;
  field: string;
  /** The value set, added or removed; SET with null clears the field. */
  value: string | null;
  dataType: string | null;
  language: string | null;
}

export interface FieldValue {
  value: string;
  dataType: string | null;
  language: string | null;
}

/** field → its values, in the order they were added (a single-valued field has one). */
export type State = Record<string, FieldValue[]>;

/** Two values are the same value when text and language agree (the data type only describes it). */
const same = (a: FieldValue, b: { value: string | null; language: string | null }) => a.value === b.value && a.language === b.language;

/** What a field held before a SET, as one text: its value, or a JSON array when it had several. */
function describe(values: FieldValue[]): string | null {
  if (values.length === 0) return null;
  if (values.length === 1) return values[0]!.value;
  return JSON.stringify(values.map((v) => v.value));
}

/**
 * Applies one change to `state` (in place) and returns the previous value it replaced: for SET the
 * field's value(s) before; for ADD and REMOVE the value itself when it was present, else null.
 */
export function applyChange(state: State, change: ChangeInput): string | null {
  const values = state[change.field] ?? [];
  let previous: string | null;
  let next: FieldValue[];
  if (change.action === 'SET') {
    previous = describe(values);
    next = change.value === null ? [] : [{ value: change.value, dataType: change.dataType, language: change.language }];
  } else {
    const present = values.some((v) => same(v, change));
    previous = present ? change.value : null;
    if (change.action === 'ADD') {
      next = present ? values : [...values, { value: change.value!, dataType: change.dataType, language: change.language }];
    } else {
      next = values.filter((v) => !same(v, change));
    }
  }
  if (next.length === 0) delete state[change.field];
  else state[change.field] = next;
  return previous;
}

/**
 * The changes that take `fields` of `current` to what they are in `target`: a SET where a field
 * holds at most one value before and after, otherwise REMOVEs then ADDs.
 */
export function diffState(current: State, target: State, fields: Iterable<string>): ChangeInput[] {
  const changes: ChangeInput[] = [];
  for (const field of [...new Set(fields)].sort()) {
    const from = current[field] ?? [];
    const to = target[field] ?? [];
    const equal = from.length === to.length && from.every((v, i) => same(v, to[i]!) && v.dataType === to[i]!.dataType);
    if (equal) continue;
    if (from.length <= 1 && to.length <= 1) {
      const v = to[0];
      changes.push({ action: 'SET', field, value: v?.value ?? null, dataType: v?.dataType ?? null, language: v?.language ?? null });
      continue;
    }
    for (const v of from) if (!to.some((t) => same(t, v))) changes.push({ action: 'REMOVE', field, ...v });
    for (const v of to) if (!from.some((f) => same(f, v))) changes.push({ action: 'ADD', field, ...v });
  }
  return changes;
}

export interface StoredChange extends ChangeInput {
  eventId: string;
  occurredAt: Date;
  version: number;
  sequence: number;
}

/** The applied changes of an entity in the order they apply (version, then sequence). */
export async function appliedChanges(db: Db, entityId: string): Promise<StoredChange[]> {
  const rows = await queryRows<{
    event_id: string;
    occurred_at: string | Date;
    version: number;
    sequence: number;
    action: ChangeAction;
    field: string;
    value: string | null;
    data_type: string | null;
    language: string | null;
  }>(
    db,
    sql`select event_id::text as event_id, occurred_at, entity_version as version, sequence, action, field,
               new_value as value, data_type, language
        from event_changes where entity_id = ${entityId} and entity_version is not null
        order by entity_version, sequence`,
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    occurredAt: new Date(r.occurred_at),
    version: Number(r.version),
    sequence: Number(r.sequence),
    action: r.action,
    field: r.field,
    value: r.value,
    dataType: r.data_type,
    language: r.language,
  }));
}

/** Replays changes into a state. */
export function replay(changes: Iterable<ChangeInput>): State {
  const state: State = {};
  for (const change of changes) applyChange(state, change);
  return state;
}

/** The current state and version of an entity (version 0 and no fields before its first changeset). */
export async function currentState(db: Db, entityId: string): Promise<{ version: number; fields: State }> {
  const [row] = await queryRows<{ version: number; fields: string }>(
    db,
    sql`select version, fields::text as fields from entity_states where entity_id = ${entityId}`,
  );
  return row ? { version: Number(row.version), fields: JSON.parse(row.fields) as State } : { version: 0, fields: {} };
}

/** Locks the entity for the rest of the transaction, so writers of its changes take turns. */
export async function lockEntity(tx: Db, entityId: string): Promise<void> {
  await tx.execute(sql`select id from entities where id = ${entityId} for update`);
}

export async function saveState(tx: Db, entityId: string, version: number, fields: State): Promise<void> {
  await tx.execute(sql`
    insert into entity_states (entity_id, version, fields, updated_at)
    values (${entityId}, ${version}, ${JSON.stringify(fields)}::jsonb, now())
    on conflict (entity_id) do update set version = excluded.version, fields = excluded.fields, updated_at = excluded.updated_at`);
}

export interface EntityStateView {
  /** The moment asked for; null for the current state. */
  at: Date | null;
  /** The entity's version at that moment: how many changesets had applied. */
  version: number;
  fields: State;
}

/**
 * An entity's fields as they stood at `at` (changesets that occurred at or before it), rebuilt from
 * its changes; without `at`, the current state.
 */
export async function stateAt(db: Db, entityId: string, at: Date | null): Promise<EntityStateView> {
  if (!at) return { at: null, ...(await currentState(db, entityId)) };
  const changes = (await appliedChanges(db, entityId)).filter((c) => c.occurredAt.getTime() <= at.getTime());
  return { at, version: changes.at(-1)?.version ?? 0, fields: replay(changes) };
}
