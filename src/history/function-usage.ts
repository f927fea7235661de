import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { AuditEvent } from '../audit/model.js';
import { AuditError } from '../errors.js';
import type { EventTypeRegistry } from '../audit/event-types.js';
import { checkTypeName } from '../audit/event-types.js';
import { decodeCursor, encodeCursor, loadEventsByIds, type Connection, type EventFilter, type PageArgs } from './events.js';
import { whereOf } from './analysis-common.js';

/**
 * The name of the function an event ran: its `function` (or `name`) parameter, else the name (or
 * external id) of its first entity parameter — the script, query or model that ran —, else null.
 * Expects the unaliased `events` table in scope.
 */
export const functionName: SQL = sql`coalesce(
  (select v.value from event_parameter_values v join event_parameters p on p.id = v.parameter_id
   where v.event_id = events.id and v.occurred_at = events.occurred_at and p.name in ('function', 'name')
   order by p.name limit 1),
  (select coalesce(en.name, en.external_id) from event_parameter_values v join entities en on en.id = v.entity_id
   where v.event_id = events.id and v.occurred_at = events.occurred_at order by v.parameter_id, v.position limit 1))`;

/** How a parameter counts in a call: its declared direction, else by an `input.` / `output.` prefix. */
const directionOf = (p: string) =>
  sql.raw(`coalesce(${p}.direction, case when ${p}.name like 'output.%' then 'output' when ${p}.name like 'input.%' then 'input' end)`);

/** Event types that are function calls: source `function`, or a parameter that is an input or an output. */
export const functionLikeTypes: SQL = sql`(select id from event_types where source = 'function'
  union select p.event_type_id from event_parameters p where ${directionOf('p')} is not null)`;

export interface FunctionCall {
  event: AuditEvent;
  function: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Every call of a function-like event type, newest first; `name` matches the function name or the type. */
export async function functionUsage(db: Db, name: string | null | undefined, filter: EventFilter, page: PageArgs): Promise<Connection<FunctionCall>> {
  const conditions = [sql`events.event_type_id in ${functionLikeTypes}`];
  if (name) {
    conditions.push(sql`(${functionName} = ${name} or events.event_type_id = (select id from event_types where name = ${name}))`);
  }
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    if (!/^\d{1,18}$/.test(id)) throw new AuditError('INVALID_CURSOR', 'the cursor does not point at an event');
    conditions.push(sql`(events.occurred_at, events.id) < (${at.toISOString()}::timestamptz, ${id}::bigint)`);
  }
  const rows = await queryRows<{ id: string; fn: string | null }>(
    db,
    sql`select events.id::text as id, ${functionName} as fn from events where ${whereOf(filter, ...conditions)}
        order by events.occurred_at desc nulls last, events.id desc nulls last limit ${page.first + 1}`,
  );
  const events = await loadEventsByIds(db, rows.map((row) => row.id));
  const directions = await parameterDirections(db, [...new Set([...events.values()].map((e) => e.type))]);
  const calls = rows.slice(0, page.first).map((row) => toCall(events.get(row.id)!, row.fn, directions));
  const edges = calls.map((node) => ({ cursor: encodeCursor(node.event.occurredAt, node.event.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}

async function parameterDirections(db: Db, types: string[]): Promise<Map<string, string | null>> {
  if (types.length === 0) return new Map();
  const rows = await queryRows<{ type: string; name: string; direction: string | null }>(
    db,
    sql`select t.name as type, p.name, ${directionOf('p')} as direction from event_parameters p
        join event_types t on t.id = p.event_type_id where t.name in ${types}`,
  );
  return new Map(rows.map((row) => [`${row.type}\u0000${row.name}`, row.direction]));
}

function toCall(event: AuditEvent, fn: string | null, directions: Map<string, string | null>): FunctionCall {
  const inputs: Record<string, unknown> = {};
  const outputs: Record<string, unknown> = {};
  for (const p of event.parameters) {
    const direction = directions.get(`${event.type}\u0000${p.name}`);
    const target = direction === 'output' ? outputs : inputs;
    const key = p.name.replace(/^(input|output)\./, '');
    const value = p.entity ? { type: p.entity.type, id: p.entity.externalId, name: p.entity.name } : p.value;
    const existing = target[key];
    target[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return { event, function: fn ?? event.type, inputs, outputs };
}

/**
 * Declares which parameters of an event type are inputs and which are outputs (creating the type
 * and the parameters if they are new); a type with declared parameters counts as a function.
 */
export async function declareFunctionParameters(db: Db, types: EventTypeRegistry, type: string, inputs: string[], outputs: string[]): Promise<void> {
  checkTypeName(type);
  const both = inputs.filter((name) => outputs.includes(name));
  if (both.length > 0) throw new AuditError('BAD_USER_INPUT', `${both.join(', ')}: a parameter is an input or an output, not both`, { field: 'outputs' });
  const all = [...inputs.map((name) => ({ name, direction: 'input' })), ...outputs.map((name) => ({ name, direction: 'output' }))];
  if (all.some((p) => p.name.length === 0 || p.name.length > 200)) throw new AuditError('BAD_USER_INPUT', 'a parameter name must be 1 to 200 characters', { field: 'inputs' });
  const row = (await types.resolve([type])).get(type)!;
  if (all.length === 0) return;
  await db.execute(sql`
    insert into event_parameters (event_type_id, name, direction)
    select ${row.id}::int, name, direction from json_to_recordset(${JSON.stringify(all)}::json) as r(name text, direction text)
    on conflict (event_type_id, name) do update set direction = excluded.direction`);
}
