import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { AuditEvent, EntityRef, EntityView, EventSource } from '../audit/model.js';
import { queryRows, type Db } from '../db/client.js';
import { AuditError } from '../errors.js';
import { checkPageSize, decodeCursor, encodeCursor, groupMemberIds, type Connection, type PageArgs } from '../history/events.js';
import { storeChanges, targetId, validateChanges, type Actor, type ChangeDeps, type RawChange } from './changesets.js';
import { lockEntity, type ChangeInput } from './state.js';

export const SUGGESTION_STATUSES = ['PROPOSED', 'APPROVED', 'REJECTED', 'CANCELLED'] as const;
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number];

export interface SuggestionView {
  id: string;
  target: EntityView;
  requestor: string;
  approverGroup: string;
  status: SuggestionStatus;
  completedBy: string | null;
  changes: ChangeInput[];
  comment: string | null;
  reason: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  proposalEventId: string;
  decisionEventId: string | null;
  appliedEventId: string | null;
}

export interface SuggestionFilter {
  statuses?: SuggestionStatus[] | null | undefined;
  target?: { type: string; id: string } | null | undefined;
  requestor?: string | null | undefined;
  /** The approver group's name. */
  approverGroup?: string | null | undefined;
  /** Login of who approved, rejected or cancelled it. */
  completedBy?: string | null | undefined;
  /** Created at or after (inclusive). */
  since?: Date | null | undefined;
  /** Created before (exclusive). */
  until?: Date | null | undefined;
}

function requireActor(who: Actor, what: string): string {
  if (!who.actor) {
    throw new AuditError('ACTOR_REQUIRED', `${what} needs an acting user: a credential bound to a user, or the actor argument`, { field: 'actor' });
  }
  return who.actor;
}

const selectSuggestions = (where: SQL, limit = 1) => sql`
  select s.id, s.status, s.changes::text as changes, s.comment, s.reason, s.created_at, s.decided_at,
         s.proposal_event_id::text as proposal_event_id, s.decision_event_id::text as decision_event_id,
         s.applied_event_id::text as applied_event_id,
         en.id as entity_id, en.type as entity_type, en.external_id, en.name as entity_name,
         r.login as requestor, g.name as approver_group, c.login as completed_by
  from suggestions s
  join entities en on en.id = s.entity_id
  join users r on r.id = s.requestor_id
  join groups g on g.id = s.approver_group_id
  left join users c on c.id = s.completed_by_id
  where ${where}
  order by s.created_at desc, s.id desc
  limit ${limit}`;

interface SuggestionRow {
  id: string;
  status: SuggestionStatus;
  changes: string;
  comment: string | null;
  reason: string | null;
  created_at: string | Date;
  decided_at: string | Date | null;
  proposal_event_id: string;
  decision_event_id: string | null;
  applied_event_id: string | null;
  entity_id: string;
  entity_type: string;
  external_id: string;
  entity_name: string | null;
  requestor: string;
  approver_group: string;
  completed_by: string | null;
}

function toView(r: SuggestionRow): SuggestionView {
  return {
    id: r.id,
    target: { id: r.entity_id, type: r.entity_type, externalId: r.external_id, name: r.entity_name },
    requestor: r.requestor,
    approverGroup: r.approver_group,
    status: r.status,
    completedBy: r.completed_by,
    changes: JSON.parse(r.changes) as ChangeInput[],
    comment: r.comment,
    reason: r.reason,
    createdAt: new Date(r.created_at),
    decidedAt: r.decided_at ? new Date(r.decided_at) : null,
    proposalEventId: r.proposal_event_id,
    decisionEventId: r.decision_event_id,
    appliedEventId: r.applied_event_id,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findSuggestion(db: Db, id: string): Promise<SuggestionView | null> {
  if (!UUID.test(id)) return null;
  const [row] = await queryRows<SuggestionRow>(db, selectSuggestions(sql`s.id = ${id}`));
  return row ? toView(row) : null;
}

async function getSuggestion(db: Db, id: string): Promise<SuggestionView> {
  const found = await findSuggestion(db, id);
  if (!found) throw new AuditError('NOT_FOUND', `no suggestion ${id}`, { field: 'id' });
  return found;
}

/** Suggestions matching the filter, newest first. */
export async function findSuggestions(db: Db, filter: SuggestionFilter, page: PageArgs, maxPage: number): Promise<Connection<SuggestionView>> {
  checkPageSize(page.first, maxPage);
  const conditions: SQL[] = [sql`true`];
  if (filter.statuses?.length) conditions.push(sql`s.status in ${filter.statuses}`);
  if (filter.target) conditions.push(sql`(en.type, en.external_id) = (${filter.target.type}, ${filter.target.id})`);
  if (filter.requestor) conditions.push(sql`r.login = ${filter.requestor}`);
  if (filter.approverGroup) conditions.push(sql`g.name = ${filter.approverGroup}`);
  if (filter.completedBy) conditions.push(sql`c.login = ${filter.completedBy}`);
  if (filter.since) conditions.push(sql`s.created_at >= ${filter.since.toISOString()}::timestamptz`);
  if (filter.until) conditions.push(sql`s.created_at < ${filter.until.toISOString()}::timestamptz`);
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    if (!UUID.test(id)) throw new AuditError('INVALID_CURSOR', 'the cursor does not point at a suggestion');
    conditions.push(sql`(s.created_at, s.id) < (${at.toISOString()}::timestamptz, ${id}::uuid)`);
  }
  const rows = await queryRows<SuggestionRow>(db, selectSuggestions(sql.join(conditions, sql` and `), page.first + 1));
  const nodes = rows.slice(0, page.first).map(toView);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.createdAt, node.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** What every step event carries, so that live subscribers can filter and show it without a query. */
function stepParameters(s: Pick<SuggestionView, 'id' | 'requestor' | 'approverGroup'>, target: EntityRef, status: SuggestionStatus, extra: Record<string, string | null>) {
  const parameters: Record<string, unknown> = { target, suggestion: s.id, requestor: s.requestor, approverGroup: s.approverGroup, status };
  for (const [name, value] of Object.entries(extra)) if (value !== null) parameters[name] = value;
  return parameters;
}

export interface ProposeInput {
  target: EntityRef;
  changes: readonly RawChange[];
  approverGroup: string;
  comment?: string | null | undefined;
  source?: EventSource | null | undefined;
}

/** Records a suggestion.create event with the proposed changes (and what they would replace). */
export async function proposeSuggestion(deps: ChangeDeps, input: ProposeInput, who: Actor): Promise<SuggestionView> {
  const requestor = requireActor(who, 'proposeSuggestion');
  const changes = validateChanges(input.changes, deps.limits);
  checkText(input.comment ?? null, 'comment', deps.limits.MAX_MESSAGE_LENGTH);
  const [group] = await queryRows<{ id: string }>(deps.db, sql`select id from groups where name = ${input.approverGroup}`);
  if (!group) throw new AuditError('NOT_FOUND', `no group "${input.approverGroup}" to approve the suggestion`, { field: 'approverGroup' });
  const id = randomUUID();
  await deps.ingestor.log(
    {
      type: 'suggestion.create',
      user: requestor,
      source: input.source ?? 'API',
      message: input.comment ?? null,
      parameters: stepParameters({ id, requestor, approverGroup: input.approverGroup }, input.target, 'PROPOSED', {}),
    },
    {
      withinTransaction: async (tx, [event]) => {
        const entityId = targetId(event!);
        await storeChanges(tx, event!, entityId, changes, { changeType: 'propose', apply: false });
        await tx.execute(sql`
          insert into suggestions (id, entity_id, requestor_id, approver_group_id, changes, comment, created_at, proposal_event_id)
          values (${id}, ${entityId}, ${event!.userId}, ${group.id}, ${JSON.stringify(changes)}::jsonb, ${input.comment ?? null},
                  ${event!.occurredAt.toISOString()}::timestamptz, ${event!.id}::bigint)`);
      },
    },
  );
  return getSuggestion(deps.db, id);
}

/** May `actor` decide this suggestion: an administrator, or a member of its approver group (directly or through child groups). */
async function checkApprover(db: Db, s: SuggestionView, actor: string, isAdmin: boolean): Promise<void> {
  if (isAdmin) return;
  const [row] = await queryRows<{ ok: boolean }>(
    db,
    sql`select exists (select 1 from users u where u.login = ${actor} and u.id in ${groupMemberIds(s.approverGroup)}) as ok`,
  );
  if (!row?.ok) {
    throw new AuditError('NOT_AN_APPROVER', `${actor} is not a member of "${s.approverGroup}", which approves suggestion ${s.id}`, {
      field: 'id',
      approverGroup: s.approverGroup,
    });
  }
}

function checkOpen(s: { id: string; status: SuggestionStatus }): void {
  if (s.status !== 'PROPOSED') {
    throw new AuditError('SUGGESTION_ALREADY_DECIDED', `suggestion ${s.id} is already ${s.status.toLowerCase()}; a suggestion is decided once`, {
      field: 'id',
      status: s.status,
    });
  }
}

/** Inside the step's transaction: the suggestion's status again, under a row lock (the decision is taken once). */
async function lockOpen(tx: Db, id: string): Promise<void> {
  const [row] = await queryRows<{ status: SuggestionStatus }>(tx, sql`select status from suggestions where id = ${id} for update`);
  checkOpen({ id, status: row!.status });
}

type Decision = 'APPROVED' | 'REJECTED' | 'CANCELLED';
const STEP_TYPE: Record<Decision, string> = { APPROVED: 'suggestion.approve', REJECTED: 'suggestion.reject', CANCELLED: 'suggestion.cancel' };

function checkText(text: string | null, field: string, max: number): void {
  if (text && text.length > max) throw new AuditError('VALUE_TOO_LONG', `${field}: is ${text.length} characters long; the limit is ${max}`, { field });
}

/** Records the deciding step (and, for an approval, the applied changeset) once the checks passed. */
async function decide(deps: ChangeDeps, s: SuggestionView, decision: Decision, actor: string, reason: string | null, source: EventSource | null | undefined): Promise<SuggestionView> {
  checkOpen(s);
  const target: EntityRef = { type: s.target.type, id: s.target.externalId };
  const event = (type: string, message: string | null) => ({
    type,
    user: actor,
    source: source ?? 'API',
    message,
    parameters: stepParameters(s, target, decision, { completedBy: actor }),
  });
  // Approving applies the proposal as a changeset.applied event, child of the suggestion.approve step.
  const events = [event(STEP_TYPE[decision], reason), ...(decision === 'APPROVED' ? [event('changeset.applied', `Applied suggestion ${s.id}`)] : [])];
  await deps.ingestor.logBatch(events, {
    withinTransaction: async (tx, [step, applied]) => {
      // Entity before suggestion, always: the order every writer locks in.
      if (applied) await lockEntity(tx, s.target.id);
      await lockOpen(tx, s.id);
      if (applied) await storeChanges(tx, applied, s.target.id, s.changes, { changeType: 'approve', apply: true, parentEventId: step!.id });
      await tx.execute(sql`
        update suggestions set status = ${decision}, completed_by_id = ${step!.userId}, reason = ${reason},
               decided_at = ${step!.occurredAt.toISOString()}::timestamptz, decision_event_id = ${step!.id}::bigint,
               applied_event_id = ${applied ? applied.id : null}::bigint
        where id = ${s.id}`);
    },
  });
  return getSuggestion(deps.db, s.id);
}

async function prepareDecision(deps: ChangeDeps, id: string, who: Actor, what: string, reason: string | null): Promise<{ s: SuggestionView; actor: string }> {
  const actor = requireActor(who, what);
  checkText(reason, what === 'approveSuggestion' ? 'comment' : 'reason', deps.limits.MAX_MESSAGE_LENGTH);
  return { s: await getSuggestion(deps.db, id), actor };
}

/** Applies the proposed changes (a changeset.applied event) and records suggestion.approve. */
export async function approveSuggestion(deps: ChangeDeps, id: string, comment: string | null, who: Actor, source?: EventSource | null): Promise<SuggestionView> {
  const { s, actor } = await prepareDecision(deps, id, who, 'approveSuggestion', comment);
  await checkApprover(deps.db, s, actor, who.isAdmin);
  return decide(deps, s, 'APPROVED', actor, comment, source);
}

export async function rejectSuggestion(deps: ChangeDeps, id: string, reason: string | null, who: Actor, source?: EventSource | null): Promise<SuggestionView> {
  const { s, actor } = await prepareDecision(deps, id, who, 'rejectSuggestion', reason);
  await checkApprover(deps.db, s, actor, who.isAdmin);
  return decide(deps, s, 'REJECTED', actor, reason, source);
}

/** Only the requestor cancels their own suggestion. */
export async function cancelSuggestion(deps: ChangeDeps, id: string, reason: string | null, who: Actor, source?: EventSource | null): Promise<SuggestionView> {
  const { s, actor } = await prepareDecision(deps, id, who, 'cancelSuggestion', reason);
  if (actor !== s.requestor) {
    throw new AuditError('NOT_THE_REQUESTOR', `only ${s.requestor}, who proposed suggestion ${id}, may cancel it`, { field: 'id' });
  }
  return decide(deps, s, 'CANCELLED', actor, reason, source);
}

/** One step of a suggestion as it went by: the event, and the status it left the suggestion in. */
export interface SuggestionUpdate {
  suggestionId: string;
  status: SuggestionStatus;
  event: AuditEvent;
}

const param = (event: AuditEvent, name: string) => event.parameters.find((p) => p.name === name)?.value ?? null;

/** The live filter: suggestion steps (not their changeset.applied) whose carried fields match. */
export function suggestionUpdateMatcher(filter: SuggestionFilter): (event: AuditEvent) => boolean {
  const statuses = filter.statuses?.length ? new Set<string>(filter.statuses) : null;
  return (event) => {
    if (!event.type.startsWith('suggestion.')) return false;
    const target = event.parameters.find((p) => p.name === 'target')?.entity;
    return (
      (!statuses || statuses.has(param(event, 'status') ?? '')) &&
      (!filter.target || (target?.type === filter.target.type && target.externalId === filter.target.id)) &&
      (!filter.requestor || param(event, 'requestor') === filter.requestor) &&
      (!filter.approverGroup || param(event, 'approverGroup') === filter.approverGroup) &&
      (!filter.completedBy || param(event, 'completedBy') === filter.completedBy) &&
      (!filter.since || event.occurredAt >= filter.since) &&
      (!filter.until || event.occurredAt < filter.until)
    );
  };
}

export function toSuggestionUpdate(event: AuditEvent): SuggestionUpdate {
  return { suggestionId: param(event, 'suggestion')!, status: param(event, 'status') as SuggestionStatus, event };
}
