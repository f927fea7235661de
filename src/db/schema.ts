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
    index('events_user_idx').on(t.userId, t.occurredAt.desc(), t.id.desc()),
    index('events_type_idx').on(t.eventTypeId, t.occurredAt.desc(), t.id.desc()),
    index('events_session_idx').on(t.sessionId, t.occurredAt.desc()),
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
