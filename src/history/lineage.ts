import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { AuditEvent, EntityView } from '../audit/model.js';
import { AuditError } from '../errors.js';
import { decodeCursor, encodeCursor, loadEventsByIds, type Connection, type PageArgs } from './events.js';

export const MAX_LINEAGE_DEPTH = 20;

export interface LineageNode {
  entity: EntityView;
  /** Steps upstream of the root: 1 for a direct input. */
  depth: number;
}

export interface LineageEdge {
  /** The input entity. */
  from: EntityView;
  /** The entity produced from it. */
  to: EntityView;
  depth: number;
  eventId: string;
  user: string | null;
  occurredAt: Date;
}

export interface Lineage {
  root: EntityView;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** True when the graph goes further up than `depth`. */
  truncated: boolean;
}

/**
 * Whether a parameter of a `table-produced` event is an input or the output: its declared direction,
 * else by name — input, inputs, source, sources, input.* are inputs; output, table, result, output.* the output.
 */
const lineageDirection = sql.raw(`coalesce(p.direction,
  case when p.name in ('input', 'inputs', 'source', 'sources') or p.name like 'input.%' then 'input'
       when p.name in ('output', 'table', 'result') or p.name like 'output.%' then 'output' end)`);

/**
 * The upstream graph of an entity from `table-produced` events: a recursive query that follows
 * output → inputs up to `depth` steps. An edge back to an entity already on the path is returned
 * but not followed, so a cycle ends.
 */
export async function lineage(db: Db, root: EntityView, depth: number): Promise<Lineage> {
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
    throw new AuditError('BAD_USER_INPUT', `depth must be 1 to ${MAX_LINEAGE_DEPTH}; it was ${depth}`, { field: 'depth' });
  }
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`with recursive produced as (
          select v.event_id, v.occurred_at, v.entity_id, ${lineageDirection} as direction
          from event_parameter_values v join event_parameters p on p.id = v.parameter_id
          where v.entity_id is not null and p.event_type_id = (select id from event_types where name = 'table-produced')
        ), walk(output_id, input_id, event_id, occurred_at, depth, path, cycle) as (
          select o.entity_id, i.entity_id, o.event_id, o.occurred_at, 1, array[o.entity_id, i.entity_id], i.entity_id = o.entity_id
          from produced o join produced i on i.event_id = o.event_id and i.occurred_at = o.occurred_at and i.direction = 'input'
          where o.direction = 'output' and o.entity_id = ${root.id}
          union all
          select o.entity_id, i.entity_id, o.event_id, o.occurred_at, w.depth + 1, w.path || i.entity_id, i.entity_id = any(w.path)
          from walk w
          join produced o on o.entity_id = w.input_id and o.direction = 'output'
          join produced i on i.event_id = o.event_id and i.occurred_at = o.occurred_at and i.direction = 'input'
          where not w.cycle and w.depth <= ${depth}
        ), edges as (
          select distinct on (event_id, input_id, output_id) * from walk order by event_id, input_id, output_id, depth
        )
        select edges.depth, edges.event_id::text as event_id, edges.occurred_at, u.login,
               f.id as from_id, f.type as from_type, f.external_id as from_external_id, f.name as from_name,
               t.id as to_id, t.type as to_type, t.external_id as to_external_id, t.name as to_name
        from edges join entities f on f.id = edges.input_id join entities t on t.id = edges.output_id
        join events e on e.id = edges.event_id and e.occurred_at = edges.occurred_at left join users u on u.id = e.user_id
        order by edges.depth, edges.occurred_at, edges.event_id, f.type, f.external_id`,
  );
  const entity = (row: Record<string, unknown>, side: 'from' | 'to'): EntityView => ({
    id: String(row[`${side}_id`]),
    type: String(row[`${side}_type`]),
    externalId: String(row[`${side}_external_id`]),
    name: (row[`${side}_name`] as string | null) ?? null,
  });
  const all = rows.map(
    (row): LineageEdge => ({
      from: entity(row, 'from'),
      to: entity(row, 'to'),
      depth: Number(row.depth),
      eventId: String(row.event_id),
      user: (row.login as string | null) ?? null,
      occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(String(row.occurred_at)),
    }),
  );
  const edges = all.filter((edge) => edge.depth <= depth);
  const nodes = new Map<string, LineageNode>();
  for (const edge of edges) {
    if (edge.from.id !== root.id && !nodes.has(edge.from.id)) nodes.set(edge.from.id, { entity: edge.from, depth: edge.depth });
  }
  return { root, nodes: [...nodes.values()], edges, truncated: all.length > edges.length };
}

/** Types whose events change the entity they name (besides table-produced naming it as output). */
const modifying = sql`(t.name ~ '-(created|edited|deleted|renamed|moved|updated|removed|added)$' or t.category in ('changes', 'workbook')
  or (t.name = 'table-produced' and ${lineageDirection} = 'output'))`;

/** Every event that changed the entity — who and when —, newest first. */
export async function modifications(db: Db, entity: EntityView, page: PageArgs): Promise<Connection<AuditEvent>> {
  let after = sql``;
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    if (!/^\d{1,18}$/.test(id)) throw new AuditError('INVALID_CURSOR', 'the cursor does not point at an event');
    after = sql`and (v.occurred_at, v.event_id) < (${at.toISOString()}::timestamptz, ${id}::bigint)`;
  }
  const rows = await queryRows<{ id: string }>(
    db,
    sql`select distinct v.event_id::text as id, v.occurred_at, v.event_id from event_parameter_values v
        join event_parameters p on p.id = v.parameter_id join event_types t on t.id = p.event_type_id
        where v.entity_id = ${entity.id} and ${modifying} ${after}
        order by v.occurred_at desc nulls last, v.event_id desc nulls last limit ${page.first + 1}`,
  );
  const events = await loadEventsByIds(db, rows.map((row) => row.id));
  const nodes = rows.slice(0, page.first).map((row) => events.get(row.id)!);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.occurredAt, node.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}
