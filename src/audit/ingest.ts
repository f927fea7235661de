import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { unnestRows, type Cell } from '../db/unnest.js';
import type { Limits } from '../env.js';
import { AuditError } from '../errors.js';
import { loadEventsByIds } from '../history/events.js';
import type { ErrorTriage } from '../history/error-groups.js';
import type { EventTypeRegistry, EventTypeRow } from './event-types.js';
import { EventIds } from './event-ids.js';
import { GroupCommit } from './group-commit.js';
import { sealBatch } from './integrity.js';
import type { AuditEvent, EntityRef, LeftOutReason, LogInput, RecordingDecider } from './model.js';
import { prepareEvent, type PreparedEvent } from './validate.js';

/** What happened to one posted event. */
export interface LogOutcome {
  /** Stored now, or stored earlier under the same idempotency key. */
  recorded: boolean;
  /** True when the idempotency key matched an event already stored: nothing new was written. */
  duplicate: boolean;
  event: AuditEvent | null;
  /** Why the event was not recorded (then nothing was stored); null when it was. */
  reason: LeftOutReason | null;
}

interface IngestDeps {
  db: Db;
  types: EventTypeRegistry;
  /** Makes sure a monthly partition exists for every moment given (see retention/partitions.ts). */
  ensurePartitions: (moments: Date[]) => Promise<void>;
  limits: Limits;
  /** Fingerprint rules and regressions of error groups. */
  errors: Pick<ErrorTriage, 'fingerprint' | 'recordOccurrences'>;
  /** Logger settings; without one every event is recorded. */
  recording?: RecordingDecider;
  /** Called after the transaction commits, never before and never for a rolled-back batch. */
  onCommitted: (events: AuditEvent[]) => void;
  /** Told about every log/logBatch call: events posted, outcomes or error, seconds taken. */
  metrics?: { observe(posted: number, result: { outcomes: LogOutcome[] } | { error: unknown }, seconds: number): void };
}

const entityKey = (type: string, externalId: string) => `${type}\u0000${externalId}`;
/** Submissions of up to this many events may share a transaction with others (group-commit.ts). */
const GROUP_COMMIT_UP_TO = 100;
/** Caches are bounded: past this many entries they start again empty. */
const CACHE_LIMIT = 100_000;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
}

function isErrorEvent(type: EventTypeRow, event: PreparedEvent): boolean {
  return type.isError || event.errorMessage !== null || event.stackTrace !== null;
}

/** Per-call options of log and logBatch. */
export interface StoreOptions {
  /**
   * Runs inside the batch transaction once the events are inserted (duplicates left out): a
   * module that stores rows with its events (changesets, suggestions) commits or fails with them.
   */
  withinTransaction?: (tx: Db, stored: AuditEvent[]) => Promise<void>;
}

/** A JSON array as one query parameter: every row of a table in one statement, one round trip. */
const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::json`;

/** The columns of an events row and of a parameter value row, in insert order (see unnestRows). */
const EVENT_COLUMNS = {
  id: 'bigint',
  occurred_at: 'timestamptz',
  recorded_at: 'timestamptz',
  event_type_id: 'int',
  session_id: 'uuid',
  user_id: 'uuid',
  description: 'text',
  source: 'text',
  duration_ms: 'float8',
  is_error: 'boolean',
  error_message: 'text',
  error_stack_trace: 'text',
  error_fingerprint: 'text',
  idempotency_key: 'text',
} as const;
const VALUE_COLUMNS = { event_id: 'bigint', occurred_at: 'timestamptz', parameter_id: 'int', position: 'smallint', value: 'text', entity_id: 'uuid' } as const;
type EventRow = { [K in keyof typeof EVENT_COLUMNS]: Cell };
type ValueRow = { [K in keyof typeof VALUE_COLUMNS]: Cell };

/**
 * The write path: validate a batch, store it in one transaction with one multi-row statement per
 * table, then hand the committed events to the live feeds. A batch is all or nothing.
 */
export class Ingestor {
  private readonly userIds = new Map<string, string>();
  private readonly entityIds = new Map<string, { id: string; name: string | null }>();
  private readonly parameterIds = new Map<string, number>();
  private readonly sessionUsers = new Map<string, { userId: string; login: string }>();
  private readonly ids: EventIds;
  private readonly groupCommit: GroupCommit<PreparedEvent, LogOutcome>;

  constructor(private readonly deps: IngestDeps) {
    this.ids = new EventIds(deps.db);
    this.groupCommit = new GroupCommit((prepared) => this.store(prepared, {}), { inFlight: 2, maxItems: deps.limits.MAX_BATCH_SIZE });
  }

  async log(input: LogInput, options: StoreOptions = {}): Promise<LogOutcome> {
    const [outcome] = await this.measured(1, () => this.submit([prepareEvent(input, 0, this.deps.limits, new Date(), false)], options));
    return outcome!;
  }

  logBatch(inputs: LogInput[], options: StoreOptions = {}): Promise<LogOutcome[]> {
    return this.measured(inputs.length, () => this.logBatchUnmeasured(inputs, options));
  }

  private async measured(posted: number, work: () => Promise<LogOutcome[]>): Promise<LogOutcome[]> {
    const metrics = this.deps.metrics;
    if (!metrics) return work();
    const started = performance.now();
    try {
      const outcomes = await work();
      metrics.observe(posted, { outcomes }, (performance.now() - started) / 1000);
      return outcomes;
    } catch (error) {
      metrics.observe(posted, { error }, (performance.now() - started) / 1000);
      throw error;
    }
  }

  private async logBatchUnmeasured(inputs: LogInput[], options: StoreOptions): Promise<LogOutcome[]> {
    const { limits } = this.deps;
    if (inputs.length > limits.MAX_BATCH_SIZE) {
      throw new AuditError('BATCH_TOO_LARGE', `A batch holds at most ${limits.MAX_BATCH_SIZE} events; this one has ${inputs.length}. Split it.`, {
        limit: limits.MAX_BATCH_SIZE,
        size: inputs.length,
      });
    }
    const now = new Date();
    return this.submit(inputs.map((input, index) => prepareEvent(input, index, limits, now, true)), options);
  }

  /** Small submissions go through group commit; large ones and those with work of their own alone. */
  private submit(prepared: PreparedEvent[], options: StoreOptions): Promise<LogOutcome[]> {
    if (options.withinTransaction || prepared.length > GROUP_COMMIT_UP_TO) return this.store(prepared, options);
    return this.groupCommit.submit(prepared);
  }

  private async store(prepared: PreparedEvent[], options: StoreOptions): Promise<LogOutcome[]> {
    if (prepared.length === 0) return [];
    const { db, types } = this.deps;
    const typeRows = await types.resolve(prepared.map((e) => e.type));
    const parameterIds = await this.resolveParameters(prepared, typeRows);
    await this.deps.ensurePartitions(prepared.map((e) => e.occurredAt));
    const recordedAt = new Date();

    // Cache entries learnt inside the transaction count only once it has committed.
    const learnt: Array<() => void> = [];
    const sessions = await this.resolveSessions(prepared, learnt);
    const { leftOut, commit: commitDecision } = this.decide(prepared, typeRows, sessions);
    const kept = prepared.filter((_, i) => leftOut[i] === null);
    const ids = await this.ids.take(kept.length);
    const { stored, duplicates } = await db.transaction(async (tx) => {
      const userIds = await this.resolveUsers(tx, kept, sessions, learnt);
      const entities = await this.resolveEntities(tx, kept, learnt);
      const duplicates = await this.claimIdempotencyKeys(tx, kept, ids);

      const stored: AuditEvent[] = [];
      // Times go to the arrays as text, converted once: JSON.stringify of a Date is ten times slower.
      const recordedAtText = recordedAt.toISOString();
      const eventRows: EventRow[] = [];
      const valueRows: ValueRow[] = [];
      kept.forEach((event, i) => {
        if (duplicates.has(i)) return;
        const id = ids[i]!;
        const type = typeRows.get(event.type)!;
        const session = event.sessionId ? sessions.get(event.sessionId) : undefined;
        const userLogin = event.userLogin ?? session?.login ?? null;
        const userId = userLogin ? userIds.get(userLogin)! : null;
        const isError = isErrorEvent(type, event);
        const errorMessage = isError ? (event.errorMessage ?? event.description) : null;
        const fingerprint = isError ? this.deps.errors.fingerprint(event.type, errorMessage, event.stackTrace) : null;
        const occurredAtText = event.occurredAt.toISOString();
        eventRows.push({
          id,
          occurred_at: occurredAtText,
          recorded_at: recordedAtText,
          event_type_id: type.id,
          session_id: event.sessionId,
          user_id: userId,
          description: event.description,
          source: event.source,
          duration_ms: event.durationMs,
          is_error: isError,
          error_message: errorMessage,
          error_stack_trace: event.stackTrace,
          error_fingerprint: fingerprint,
          idempotency_key: event.idempotencyKey,
        });
        const parameters = event.parameters.map((p) => {
          const entity = p.entity ? entities.get(entityKey(p.entity.type, p.entity.id))! : null;
          valueRows.push({
            event_id: id,
            occurred_at: occurredAtText,
            parameter_id: parameterIds.get(`${type.id}\u0000${p.name}`)!,
            position: p.position,
            value: p.value,
            entity_id: entity?.id ?? null,
          });
          return { name: p.name, value: p.value, entity };
        });
        stored.push({
          id,
          position: { txId: '', id }, // the transaction's id, filled in below
          type: type.name,
          category: type.category,
          isError,
          occurredAt: event.occurredAt,
          recordedAt,
          userId,
          userLogin,
          sessionId: event.sessionId,
          source: event.source,
          description: event.description,
          durationMs: event.durationMs,
          errorMessage,
          stackTrace: event.stackTrace,
          fingerprint,
          parameters,
        });
      });

      if (eventRows.length > 0) {
        // One statement for both tables; the transaction id comes back with it: it places the
        // events in commit order.
        const [written] = await queryRows<{ tx_id: string }>(
          tx,
          sql`with stored_events as (
                insert into events (id, occurred_at, recorded_at, event_type_id, session_id, user_id, description, source,
                                    duration_ms, is_error, error_message, error_stack_trace, error_fingerprint, idempotency_key)
                select * from ${unnestRows('r', EVENT_COLUMNS, eventRows)})
              ${valueRows.length > 0
                ? sql`, stored_values as (
                    insert into event_parameter_values (event_id, occurred_at, parameter_id, position, value, entity_id)
                    select * from ${unnestRows('r', VALUE_COLUMNS, valueRows)})`
                : sql``}
              select pg_current_xact_id()::text as tx_id`,
          { prepared: true },
        );
        for (const event of stored) event.position.txId = written!.tx_id;
      }
      await this.deps.errors.recordOccurrences(tx, stored);
      if (options.withinTransaction) await options.withinTransaction(tx, stored);
      // Last: sealing takes the chain head's lock, held until commit.
      await sealBatch(tx, stored);
      return { stored, duplicates };
    });
    for (const apply of learnt) apply();
    commitDecision();
    if (stored.length > 0) this.deps.onCommitted(stored);

    const earlier = duplicates.size > 0 ? await loadEventsByIds(db, [...new Set(duplicates.values())]) : new Map<string, AuditEvent>();
    const byIndex = new Map(stored.map((event, i) => [i, event]));
    let next = 0;
    let keptIndex = 0;
    return prepared.map((_, i): LogOutcome => {
      const reason = leftOut[i];
      if (reason) return { recorded: false, duplicate: false, event: null, reason };
      const duplicateOf = duplicates.get(keptIndex++);
      if (duplicateOf !== undefined) {
        return { recorded: true, duplicate: true, event: earlier.get(duplicateOf) ?? null, reason: null };
      }
      return { recorded: true, duplicate: false, event: byIndex.get(next++) ?? null, reason: null };
    });
  }

  /** Asks the logger settings which events are recorded; errors always are. */
  private decide(prepared: PreparedEvent[], typeRows: Map<string, EventTypeRow>, sessions: Map<string, { login: string }>) {
    if (!this.deps.recording) return { leftOut: prepared.map(() => null), commit: () => {} };
    return this.deps.recording.decide(
      prepared.map((event) => {
        const type = typeRows.get(event.type)!;
        return {
          type,
          userLogin: event.userLogin ?? (event.sessionId ? (sessions.get(event.sessionId)?.login ?? null) : null),
          sessionId: event.sessionId,
          occurredAt: event.occurredAt,
          isError: isErrorEvent(type, event),
        };
      }),
    );
  }

  /** Parameter definitions per (type, name), created on first use outside the batch transaction. */
  private async resolveParameters(prepared: PreparedEvent[], typeRows: Map<string, EventTypeRow>): Promise<Map<string, number>> {
    const wanted = new Map<string, { event_type_id: number; name: string; type: string }>();
    for (const event of prepared) {
      const typeId = typeRows.get(event.type)!.id;
      for (const p of event.parameters) {
        const key = `${typeId}\u0000${p.name}`;
        if (!this.parameterIds.has(key) && !wanted.has(key)) {
          wanted.set(key, { event_type_id: typeId, name: p.name, type: p.entity ? 'entity_id' : 'value' });
        }
      }
    }
    if (wanted.size > 0) {
      const rows = [...wanted.values()];
      await this.deps.db.execute(sql`
        insert into event_parameters (event_type_id, name, type)
        select event_type_id, name, type from json_to_recordset(${json(rows)}) as r(event_type_id int, name text, type text)
        on conflict (event_type_id, name) do nothing`);
      const found = await queryRows<{ id: number; event_type_id: number; name: string }>(
        this.deps.db,
        sql`select p.id, p.event_type_id, p.name from event_parameters p
            join json_to_recordset(${json(rows)}) as r(event_type_id int, name text)
              on r.event_type_id = p.event_type_id and r.name = p.name`,
      );
      for (const row of found) remember(this.parameterIds, `${row.event_type_id}\u0000${row.name}`, Number(row.id));
    }
    return this.parameterIds;
  }

  private async resolveSessions(prepared: PreparedEvent[], learnt: Array<() => void>) {
    const sessions = new Map<string, { userId: string; login: string }>();
    const unknown = new Set<string>();
    for (const event of prepared) {
      if (!event.sessionId) continue;
      const cached = this.sessionUsers.get(event.sessionId);
      if (cached) sessions.set(event.sessionId, cached);
      else unknown.add(event.sessionId);
    }
    if (unknown.size > 0) {
      const rows = await queryRows<{ id: string; user_id: string; login: string }>(
        this.deps.db,
        sql`select s.id, s.user_id, u.login from users_sessions s join users u on u.id = s.user_id
            where s.id in (select value::uuid from json_array_elements_text(${json([...unknown])}))`,
      );
      for (const row of rows) {
        const session = { userId: row.user_id, login: row.login };
        sessions.set(row.id, session);
        learnt.push(() => remember(this.sessionUsers, row.id, session));
      }
    }
    for (const event of prepared) {
      if (!event.sessionId) continue;
      const session = sessions.get(event.sessionId);
      if (!session) {
        throw new AuditError('UNKNOWN_SESSION', `events[${event.index}].sessionId: no session ${event.sessionId}; start one with startSession`, {
          index: event.index,
          field: 'sessionId',
        });
      }
      if (event.userLogin && event.userLogin !== session.login) {
        throw new AuditError(
          'SESSION_USER_MISMATCH',
          `events[${event.index}].user: "${event.userLogin}" is not the user of session ${event.sessionId}`,
          { index: event.index, field: 'user' },
        );
      }
    }
    return sessions;
  }

  /** Users are created on first sight; returns login → id for every user the batch names. */
  private async resolveUsers(
    tx: Db,
    prepared: PreparedEvent[],
    sessions: Map<string, { userId: string; login: string }>,
    learnt: Array<() => void>,
  ): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const session of sessions.values()) ids.set(session.login, session.userId);
    const missing = new Set<string>();
    for (const event of prepared) {
      const login = event.userLogin;
      if (!login || ids.has(login)) continue;
      const cached = this.userIds.get(login);
      if (cached) ids.set(login, cached);
      else missing.add(login);
    }
    if (missing.size > 0) {
      const logins = json([...missing]);
      await tx.execute(sql`insert into users (login) select value from json_array_elements_text(${logins}) on conflict (login) do nothing`);
      const rows = await queryRows<{ id: string; login: string }>(
        tx,
        sql`select id, login from users where login in (select value from json_array_elements_text(${logins}))`,
      );
      for (const row of rows) {
        ids.set(row.login, row.id);
        learnt.push(() => remember(this.userIds, row.login, row.id));
      }
    }
    return ids;
  }

  /** Entities are created on first sight and renamed when a reference carries a new name. */
  private async resolveEntities(tx: Db, prepared: PreparedEvent[], learnt: Array<() => void>) {
    const result = new Map<string, { id: string; type: string; externalId: string; name: string | null }>();
    const upserts = new Map<string, EntityRef>();
    for (const event of prepared) {
      for (const { entity } of event.parameters) {
        if (!entity) continue;
        const key = entityKey(entity.type, entity.id);
        const cached = this.entityIds.get(key);
        if (cached && (!entity.name || entity.name === cached.name) && !upserts.has(key)) {
          result.set(key, { id: cached.id, type: entity.type, externalId: entity.id, name: cached.name });
        } else {
          upserts.set(key, { ...upserts.get(key), ...entity, name: entity.name ?? upserts.get(key)?.name ?? null });
        }
      }
    }
    if (upserts.size > 0) {
      const rows = await queryRows<{ id: string; type: string; external_id: string; name: string | null }>(
        tx,
        sql`insert into entities (type, external_id, name)
            select type, external_id, name from json_to_recordset(${json(
              [...upserts.values()].map((e) => ({ type: e.type, external_id: e.id, name: e.name ?? null })),
            )}) as r(type text, external_id text, name text)
            on conflict (type, external_id) do update set name = coalesce(excluded.name, entities.name)
            returning id, type, external_id, name`,
      );
      for (const row of rows) {
        const key = entityKey(row.type, row.external_id);
        result.set(key, { id: row.id, type: row.type, externalId: row.external_id, name: row.name });
        learnt.push(() => remember(this.entityIds, key, { id: row.id, name: row.name }));
      }
    }
    return result;
  }

  /**
   * Claims each idempotency key for its event. Returns batch index → id of the event already
   * stored under that key (an earlier request, or an earlier event of this batch).
   */
  private async claimIdempotencyKeys(tx: Db, prepared: PreparedEvent[], ids: string[]): Promise<Map<number, string>> {
    const duplicates = new Map<number, string>();
    const firstIndex = new Map<string, number>();
    const claims: Array<{ key: string; event_id: string; occurred_at: string }> = [];
    prepared.forEach((event, i) => {
      const key = event.idempotencyKey;
      if (!key) return;
      const first = firstIndex.get(key);
      if (first !== undefined) {
        duplicates.set(i, ids[first]!);
        return;
      }
      firstIndex.set(key, i);
      claims.push({ key, event_id: ids[i]!, occurred_at: event.occurredAt.toISOString() });
    });
    if (claims.length === 0) return duplicates;
    const [claimed] = await queryRows<{ count: number }>(
      tx,
      sql`with claimed as (
            insert into event_idempotency_keys (key, event_id, occurred_at)
            select * from ${unnestRows('r', { key: 'text', event_id: 'bigint', occurred_at: 'timestamptz' }, claims)}
            on conflict (key) do nothing returning 1)
          select count(*)::int as count from claimed`,
      { prepared: true },
    );
    if (claimed!.count === claims.length) return duplicates;
    // Some keys were taken before: by an earlier request, or by a transaction that committed meanwhile.
    const existing = await queryRows<{ key: string; event_id: string }>(
      tx,
      sql`select k.key, k.event_id::text as event_id from event_idempotency_keys k
          join ${unnestRows('r', { key: 'text', event_id: 'bigint' }, claims)} on r.key = k.key
          where k.event_id <> r.event_id`,
    );
    const existingByKey = new Map(existing.map((row) => [row.key, row.event_id]));
    prepared.forEach((event, i) => {
      const earlier = event.idempotencyKey ? existingByKey.get(event.idempotencyKey) : undefined;
      if (earlier !== undefined) duplicates.set(i, earlier);
    });
    return duplicates;
  }
}
