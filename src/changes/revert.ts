import { sql } from 'drizzle-orm';
import type { EntityRef, EventSource } from '../audit/model.js';
import { queryRows } from '../db/client.js';
import { AuditError } from '../errors.js';
import { findEntity } from '../history/entities.js';
import { storeChanges, targetId, type Actor, type ChangeDeps, type ChangesetView } from './changesets.js';
import { appliedChanges, diffState, lockEntity, replay, currentState, type ChangeInput } from './state.js';

export interface RevertInput {
  /** Undo this changeset… */
  eventId?: string | null | undefined;
  /** …or restore this entity's state as it stood at `to`. */
  entity?: { type: string; id: string } | null | undefined;
  to?: Date | null | undefined;
  /** Revert an event even when its fields changed again since (their later changes are undone too). */
  force?: boolean | null | undefined;
  source?: EventSource | null | undefined;
  message?: string | null | undefined;
}

/** Which entity a revert is about, and what the new event links to. */
async function resolveTarget(deps: ChangeDeps, input: RevertInput): Promise<{ target: EntityRef; entityId: string; link: Record<string, string> }> {
  if (input.eventId && !input.entity && !input.to) {
    if (!/^\d{1,18}$/.test(input.eventId)) throw new AuditError('NOT_FOUND', `no event ${input.eventId}`, { field: 'eventId' });
    const [row] = await queryRows<{ entity_id: string; type: string; external_id: string }>(
      deps.db,
      sql`select c.entity_id, e.type, e.external_id from event_changes c join entities e on e.id = c.entity_id
          where c.event_id = ${input.eventId}::bigint and c.entity_version is not null limit 1`,
    );
    if (!row) {
      throw new AuditError('NOT_A_CHANGESET', `event ${input.eventId} changed no entity state, so there is nothing to revert`, { field: 'eventId' });
    }
    return { target: { type: row.type, id: row.external_id }, entityId: row.entity_id, link: { reverts: input.eventId } };
  }
  if (input.entity && input.to && !input.eventId) {
    const entity = await findEntity(deps.db, input.entity.type, input.entity.id);
    if (!entity) throw new AuditError('NOT_FOUND', `no entity ${input.entity.type} ${input.entity.id}`, { field: 'entity' });
    return { target: { type: entity.type, id: entity.externalId }, entityId: entity.id, link: { revertedTo: input.to.toISOString() } };
  }
  throw new AuditError('BAD_USER_INPUT', 'give either eventId, or entity and to', { field: 'eventId' });
}

/**
 * The changes that undo event `eventId` on its fields: they take each field back to what it was
 * before that event. Refused when a later changeset touched one of them, unless forced.
 */
function undoEvent(all: Awaited<ReturnType<typeof appliedChanges>>, eventId: string, force: boolean, current: ReturnType<typeof replay>): ChangeInput[] {
  const own = all.filter((c) => c.eventId === eventId);
  const version = own[0]!.version;
  const fields = new Set(own.map((c) => c.field));
  const later = all.find((c) => c.version > version && fields.has(c.field));
  if (later && !force) {
    throw new AuditError(
      'REVERT_CONFLICT',
      `field "${later.field}" was changed again by event ${later.eventId} after event ${eventId}; revert that first, or pass force: true to overwrite it`,
      { field: later.field, eventId, laterEventId: later.eventId },
    );
  }
  const before = replay(all.filter((c) => c.version < version));
  return diffState(current, before, fields);
}

/**
 * Records a new event whose changes undo a changeset, or restore the entity's state at a moment.
 * History is never edited: the revert is a changeset of its own, linked by `reverts` / `revertedTo`.
 */
export async function revertChanges(deps: ChangeDeps, input: RevertInput, who: Actor): Promise<ChangesetView> {
  const { target, link } = await resolveTarget(deps, input);
  let result = null as ChangesetView | null;
  await deps.ingestor.log(
    {
      type: 'resource.update',
      user: who.actor,
      source: input.source ?? 'API',
      message: input.message ?? (input.eventId ? `Reverted event ${input.eventId}` : `Restored the state of ${input.to!.toISOString()}`),
      parameters: { target, ...link },
    },
    {
      withinTransaction: async (tx, [event]) => {
        const entityId = targetId(event!);
        await lockEntity(tx, entityId);
        const all = await appliedChanges(tx, entityId);
        const current = (await currentState(tx, entityId)).fields;
        const changes = input.eventId
          ? undoEvent(all, input.eventId, input.force ?? false, current)
          : diffState(current, replay(all.filter((c) => c.occurredAt.getTime() <= input.to!.getTime())), [
              ...Object.keys(current),
              ...all.map((c) => c.field),
            ]);
        if (changes.length === 0) {
          throw new AuditError('NOTHING_TO_REVERT', 'the fields already hold the values a revert would restore; nothing was recorded', {});
        }
        const stored = await storeChanges(tx, event!, entityId, changes, { changeType: 'apply', apply: true });
        result = { event: event!, entityId, changeType: 'apply', ...stored };
      },
    },
  );
  return result!;
}
