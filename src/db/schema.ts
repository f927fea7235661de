import { sql } from 'drizzle-orm';
import {
  customType,
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * Millisecond precision everywhere: JavaScript dates round-trip exactly, so keyset cursors built
 * from a row's time always find that row again.
 */
/** PostgreSQL's 64-bit transaction id; compared as text-free numbers through `::text::bigint` where needed. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

const time = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

export const groups = pgTable('groups', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  description: text('description'),
  /** A user's own group (Datagrok's model): how users take part in groups_relations. */
  personal: boolean('personal').notNull().default(false),
  createdAt: time('created_at').notNull().defaultNow(),
});

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  login: text('login').notNull().unique(),
  displayName: text('display_name'),
  roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
  disabled: boolean('disabled').notNull().default(false),
  /** The personal group, created when the user first joins a group. */
  groupId: uuid('group_id').references(() => groups.id),
  createdAt: time('created_at').notNull().defaultNow(),
});

/** Parent → child between groups; a user is a member through their personal group. */
export const groupsRelations = pgTable(
  'groups_relations',
  {
    parentId: uuid('parent_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    childId: uuid('child_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.parentId, t.childId] }), index('groups_relations_child_idx').on(t.childId)],
);

export const usersSessions = pgTable(
  'users_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    startedAt: time('started_at').notNull().defaultNow(),
    endedAt: time('ended_at'),
    /** LOGOUT or TIMEOUT once ended. */
    endReason: text('end_reason'),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    /** CLIENT or SERVER: which kind of process the session belongs to. */
    process: text('process').notNull().default('CLIENT'),
  },
  (t) => [index('users_sessions_user_idx').on(t.userId, t.startedAt.desc())],
);

export const entities = pgTable(
  'entities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    type: text('type').notNull(),
    externalId: text('external_id').notNull(),
    name: text('name'),
    createdAt: time('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('entities_type_external_id_key').on(t.type, t.externalId)],
);

export const eventTypes = pgTable('event_types', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  category: text('category').notNull(),
  /** audit, error, function or custom. */
  source: text('source').notNull(),
  friendlyName: text('friendly_name'),
  /** Whether the Standard logging level records this type. */
  standard: boolean('standard').notNull().default(true),
  isError: boolean('is_error').notNull().default(false),
  builtin: boolean('builtin').notNull().default(false),
  createdAt: time('created_at').notNull().defaultNow(),
});

export const eventParameters = pgTable(
  'event_parameters',
  {
    id: serial('id').primaryKey(),
    eventTypeId: integer('event_type_id')
      .notNull()
      .references(() => eventTypes.id),
    name: text('name').notNull(),
    /** value or entity_id. */
    type: text('type').notNull().default('value'),
    /** input or output, for function-like event types; null otherwise. */
    direction: text('direction'),
  },
  (t) => [uniqueIndex('event_parameters_type_name_key').on(t.eventTypeId, t.name)],
);

/**
 * Append-only. The key holds occurred_at so the table can be partitioned by month; the id comes
 * from a plain sequence (not an identity column) for the same reason.
 */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    occurredAt: time('occurred_at').notNull(),
    recordedAt: time('recorded_at').notNull().defaultNow(),
    eventTypeId: integer('event_type_id').notNull(),
    sessionId: uuid('session_id'),
    userId: uuid('user_id'),
    description: text('description'),
    /** UI, API, CLIENT or SERVER. */
    source: text('source').notNull(),
    durationMs: doublePrecision('duration_ms'),
    isError: boolean('is_error').notNull().default(false),
    errorMessage: text('error_message'),
    errorStackTrace: text('error_stack_trace'),
    errorFingerprint: text('error_fingerprint'),
    idempotencyKey: text('idempotency_key'),
    /**
     * The writing transaction. Ids are taken before commit, so id order is not commit order; readers
     * that must not skip anything (exporters, resumable feeds) go by (tx_id, id) below the oldest
     * transaction still running — see history/committed-feed.ts.
     */
    txId: xid8('tx_id').notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.occurredAt] }),
    index('events_time_idx').on(t.occurredAt.desc(), t.id.desc()),
    index('events_tx_idx').on(t.txId, t.id),
    // Partial: most events carry a user but many no session, and an index entry not written is
    // ingestion time saved; `user_id = …` and `session_id = …` still use them.
    index('events_user_idx')
      .on(t.userId, t.occurredAt.desc(), t.id.desc())
      .where(sql`${t.userId} is not null`),
    index('events_type_idx').on(t.eventTypeId, t.occurredAt.desc(), t.id.desc()),
    index('events_session_idx')
      .on(t.sessionId, t.occurredAt.desc())
      .where(sql`${t.sessionId} is not null`),
    index('events_fingerprint_idx')
      .on(t.errorFingerprint, t.occurredAt.desc())
      .where(sql`${t.isError}`),
  ],
);

/**
 * One row per parameter value of an event; an entity reference also carries the entity id, so
 * "all actions on this entity" is one range scan of events_values_entity_idx.
 */
export const eventParameterValues = pgTable(
  'event_parameter_values',
  {
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    occurredAt: time('occurred_at').notNull(),
    parameterId: integer('parameter_id').notNull(),
    /** Position in a list of entity references; 0 for a single value. */
    position: smallint('position').notNull().default(0),
    value: text('value'),
    entityId: uuid('entity_id'),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.parameterId, t.position, t.occurredAt] }),
    index('event_parameter_values_entity_idx')
      .on(t.entityId, t.occurredAt.desc(), t.eventId.desc())
      .where(sql`${t.entityId} is not null`),
  ],
);

/** How many months of events to keep; null months keeps everything. One row. */
export const retentionPolicy = pgTable('retention_policy', {
  id: integer('id').primaryKey().default(1),
  months: integer('months'),
  updatedAt: time('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

/**
 * Idempotency keys live outside events: a unique index on a partitioned table must contain the
 * partition key, which would make the key unique only per month.
 */
export const eventIdempotencyKeys = pgTable('event_idempotency_keys', {
  key: text('key').primaryKey(),
  eventId: bigint('event_id', { mode: 'number' }).notNull(),
  occurredAt: time('occurred_at').notNull(),
});

/**
 * The triage state of an error group, keyed by fingerprint. A group with no row is OPEN. A merged
 * group points at the group it was merged into (always a group that is not itself merged).
 */
export const errorGroups = pgTable('error_groups', {
  fingerprint: text('fingerprint').primaryKey(),
  /** OPEN, RESOLVED, IGNORED or REGRESSED. */
  status: text('status').notNull().default('OPEN'),
  mergedInto: text('merged_into'),
  resolvedAt: time('resolved_at'),
  regressedAt: time('regressed_at'),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/** Forces every new error whose message or stack trace matches `pattern` into the group `fingerprint`. */
export const errorFingerprintRules = pgTable('error_fingerprint_rules', {
  id: serial('id').primaryKey(),
  /** message or stack_trace. */
  field: text('field').notNull(),
  /** A regular expression (JavaScript syntax, case-insensitive). */
  pattern: text('pattern').notNull(),
  fingerprint: text('fingerprint').notNull(),
  createdAt: time('created_at').notNull().defaultNow(),
});

/**
 * Who records what: one row per target — the global default (`target_key` 'global'), a user
 * ('user:<id>') or a group ('group:<id>'). The key makes "one setting per target" a plain unique
 * constraint; user_id and group_id keep the references (and cascade).
 */
export const loggerSettings = pgTable('logger_settings', {
  id: uuid('id').primaryKey().defaultRandom(),
  targetKey: text('target_key').notNull().unique(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  groupId: uuid('group_id').references(() => groups.id, { onDelete: 'cascade' }),
  /** STANDARD, VERBOSE, CUSTOM or OFF. */
  level: text('level').notNull(),
  /** CUSTOM only: switched on / off on top of Standard, by type name or by category. */
  typesOn: text('types_on').array().notNull().default(sql`'{}'::text[]`),
  typesOff: text('types_off').array().notNull().default(sql`'{}'::text[]`),
  categoriesOn: text('categories_on').array().notNull().default(sql`'{}'::text[]`),
  categoriesOff: text('categories_off').array().notNull().default(sql`'{}'::text[]`),
  /** The same type from the same session inside this many seconds is recorded once; 0: no throttle. */
  throttleSeconds: integer('throttle_seconds').notNull().default(0),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/**
 * Field-level changes of an event, in sequence (data.world's changesets). The key holds occurred_at,
 * like events, so the table can be partitioned by month. Rows with an entity_version changed the
 * entity's state (replayed in version order); proposals of suggestions have none.
 */
export const eventChanges = pgTable(
  'event_changes',
  {
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    occurredAt: time('occurred_at').notNull(),
    sequence: integer('sequence').notNull(),
    /** ADD, REMOVE or SET. */
    action: text('action').notNull(),
    field: text('field').notNull(),
    previousValue: text('previous_value'),
    newValue: text('new_value'),
    dataType: text('data_type'),
    language: text('language'),
    /** The target entity. */
    entityId: uuid('entity_id').notNull(),
    /** The entity's version this changeset made (1, 2, …: the order its changes apply in); null when not applied. */
    entityVersion: integer('entity_version'),
    /** apply (recorded or reverted), propose (a suggestion), approve (an approved suggestion applied). */
    changeType: text('change_type').notNull(),
    /** The step event this changeset belongs to (the suggestion.approve of a changeset.applied). */
    parentEventId: bigint('parent_event_id', { mode: 'number' }),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.sequence, t.occurredAt] }),
    index('event_changes_entity_version_idx').on(t.entityId, t.entityVersion),
    index('event_changes_parent_idx')
      .on(t.parentEventId)
      .where(sql`${t.parentEventId} is not null`),
  ],
);

/** The current state of an entity that has changesets; its row lock orders writers. */
export const entityStates = pgTable('entity_states', {
  entityId: uuid('entity_id')
    .primaryKey()
    .references(() => entities.id),
  version: integer('version').notNull().default(0),
  /** field → [{value, dataType, language}], the same shape the changes replay into. */
  fields: jsonb('fields').notNull().default(sql`'{}'::jsonb`),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

export const suggestions = pgTable(
  'suggestions',
  {
    id: uuid('id').primaryKey(),
    entityId: uuid('entity_id')
      .notNull()
      .references(() => entities.id),
    requestorId: uuid('requestor_id')
      .notNull()
      .references(() => users.id),
    approverGroupId: uuid('approver_group_id')
      .notNull()
      .references(() => groups.id),
    /** PROPOSED, APPROVED, REJECTED or CANCELLED. */
    status: text('status').notNull().default('PROPOSED'),
    completedById: uuid('completed_by_id').references(() => users.id),
    /** The proposed changes: [{action, field, value, dataType, language}]. */
    changes: jsonb('changes').notNull(),
    comment: text('comment'),
    /** Why it was rejected or cancelled, or the approver's note. */
    reason: text('reason'),
    createdAt: time('created_at').notNull(),
    decidedAt: time('decided_at'),
    proposalEventId: bigint('proposal_event_id', { mode: 'number' }).notNull(),
    decisionEventId: bigint('decision_event_id', { mode: 'number' }),
    /** The changeset.applied event of an approved suggestion. */
    appliedEventId: bigint('applied_event_id', { mode: 'number' }),
  },
  (t) => [
    index('suggestions_entity_idx').on(t.entityId, t.createdAt.desc()),
    index('suggestions_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('suggestions_status_idx').on(t.status, t.createdAt.desc()),
  ],
);

/**
 * API keys: only a SHA-256 of the key is stored (keys are 32 random bytes, so a fast hash is
 * enough); `prefix` is shown in listings so a key can be recognised without being revealed.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    /** audit:read, audit:write, audit:admin. */
    scopes: text('scopes').array().notNull(),
    /** The user this key acts for: it may read that user's own activity without audit:read. */
    userLogin: text('user_login'),
    expiresAt: time('expires_at'),
    revokedAt: time('revoked_at'),
    createdAt: time('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('api_keys_hash_key').on(t.hash)],
);

/**
 * Tamper evidence (see audit/integrity.ts). Each event's hash covers its canonical content and the
 * hash before it in its batch; each batch (one ingest transaction) is chained to the one committed
 * before it through the single chain_head row, locked only for the last statement of the batch.
 */
export const eventHashes = pgTable(
  'event_hashes',
  {
    eventId: bigint('event_id', { mode: 'number' }).primaryKey(),
    occurredAt: time('occurred_at').notNull(),
    batchSeq: bigint('batch_seq', { mode: 'number' }).notNull(),
    position: integer('position').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [uniqueIndex('event_hashes_batch_key').on(t.batchSeq, t.position)],
);

export const eventBatches = pgTable(
  'event_batches',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    prevHead: text('prev_head').notNull(),
    /** The hash of the batch's last event, which chains all of them. */
    digest: text('digest').notNull(),
    /** sha256(prev_head:digest:event_count): the chain head after this batch. */
    head: text('head').notNull(),
    eventCount: integer('event_count').notNull(),
    committedAt: time('committed_at').notNull().defaultNow(),
  },
  (t) => [index('event_batches_committed_idx').on(t.committedAt)],
);

export const chainHead = pgTable('chain_head', {
  id: integer('id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  head: text('head').notNull(),
});

/** Public keys that checkpoints were signed with (the private key never enters the database). */
export const checkpointKeys = pgTable('checkpoint_keys', {
  /** RFC 7638 thumbprint of the public JWK. */
  id: text('id').primaryKey(),
  /** SPKI PEM. */
  publicKey: text('public_key').notNull(),
  createdAt: time('created_at').notNull().defaultNow(),
});

/**
 * Signed chain heads (see audit/checkpoints.ts): "at batch `batch_seq` the chain head was `head`",
 * signed with Ed25519. A retention drop signs one that also names the month it pruned and how many
 * events that removed, so verification can tell an audited drop from a DELETE.
 */
export const checkpoints = pgTable(
  'checkpoints',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchSeq: bigint('batch_seq', { mode: 'number' }).notNull(),
    head: text('head').notNull(),
    signedAt: time('signed_at').notNull(),
    keyId: text('key_id').notNull(),
    /** YYYY-MM of a retention drop; null for a plain checkpoint. */
    prunedMonth: text('pruned_month'),
    prunedEvents: bigint('pruned_events', { mode: 'number' }),
    /** Ed25519 over the checkpoint's message, base64url. */
    signature: text('signature').notNull(),
  },
  (t) => [index('checkpoints_signed_idx').on(t.signedAt.desc(), t.id.desc())],
);

/**
 * Months retention dropped (one row per drop, written in the drop's transaction): sealed events of
 * `month` in batches up to `through_batch` are gone by policy. Only a signed drop checkpoint makes
 * this trustworthy; without a checkpoint key this row is all there is (see verifyIntegrity).
 */
export const prunedMonths = pgTable('pruned_months', {
  id: serial('id').primaryKey(),
  month: text('month').notNull(),
  throughBatch: bigint('through_batch', { mode: 'number' }).notNull(),
  /** Events the drop removed; null for a drop recorded before this was counted. */
  events: bigint('events', { mode: 'number' }),
  droppedAt: time('dropped_at').notNull().defaultNow(),
  /** The `retention-month-dropped` event written with the drop. */
  recordEventId: bigint('record_event_id', { mode: 'number' }),
});

/**
 * Export sinks (CloudWatch Logs, rolling files) and their delivery cursors. `config` holds no
 * secret: AWS credentials come from the environment or a named profile at send time. The cursor is
 * a position in commit order (history/committed-feed.ts) advanced only after a delivery succeeded.
 * A lease lets one instance at a time deliver a sink when several share the database.
 */
export const exportSinks = pgTable('export_sinks', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  /** cloudwatch or file. */
  kind: text('kind').notNull(),
  config: jsonb('config').notNull(),
  cursorTxId: text('cursor_tx_id'),
  cursorId: text('cursor_id'),
  delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
  lastDeliveredAt: time('last_delivered_at'),
  lastError: text('last_error'),
  lastErrorAt: time('last_error_at'),
  leaseOwner: text('lease_owner'),
  leaseUntil: time('lease_until'),
  createdAt: time('created_at').notNull().defaultNow(),
  updatedAt: time('updated_at').notNull().defaultNow(),
});
