import { isAbsolute, normalize } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Db } from '../db/client.js';
import { exportSinks } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { currentFeedPosition, type FeedPosition } from '../history/committed-feed.js';
import { EXPORT_LEVELS, type ExportLevel } from './record.js';

/** CloudWatch Logs' own limits on names and on one PutLogEvents call. */
export const CLOUDWATCH_MAX_BATCH = 10_000;
const logGroupName = z.string().min(1).max(512).regex(/^[.\-_/#A-Za-z0-9]+$/, 'may hold letters, digits and . - _ / # only');
const logStreamName = z.string().min(1).max(512).regex(/^[^:*]+$/, 'must not contain : or *');

const levels = z.array(z.enum(EXPORT_LEVELS)).min(1).default([...EXPORT_LEVELS]);

export const cloudWatchConfigSchema = z.object({
  logGroup: logGroupName,
  /** Event type or category → stream; a type match wins over a category match. */
  streams: z.array(z.object({ match: z.string().min(1).max(100), stream: logStreamName })).max(1000),
  /** Stream of events no entry of `streams` matches; without it such events are not sent. */
  defaultStream: logStreamName.nullish().transform((v) => v ?? null),
  levels,
  batchSize: z.number().int().min(1).max(CLOUDWATCH_MAX_BATCH).default(1000),
  region: z.string().regex(/^[a-z]{2}(-[a-z0-9]+){2,3}$/, 'is not an AWS region such as eu-west-1'),
  /** An endpoint other than AWS's (a VPC endpoint, LocalStack, a test server). */
  endpoint: z.url({ protocol: /^https?$/ }).nullish().transform((v) => v ?? null),
  /** A named profile of the shared AWS config files; without it the SDK's default chain (environment first). */
  profile: z.string().min(1).max(200).nullish().transform((v) => v ?? null),
});
export type CloudWatchConfig = z.infer<typeof cloudWatchConfigSchema>;

export const fileConfigSchema = z.object({
  /** Relative to EXPORT_FILE_DIR: an admin cannot make the server write anywhere else. */
  path: z
    .string()
    .min(1)
    .max(500)
    .refine((p) => !isAbsolute(p) && !/^\.\.(\/|\\|$)/.test(normalize(p)), 'must be a path inside EXPORT_FILE_DIR'),
  maxFileSizeBytes: z.number().int().min(256).max(Number.MAX_SAFE_INTEGER).default(100 * 1024 * 1024),
  maxBackups: z.number().int().min(0).max(1000).default(10),
  types: z.array(z.string().min(1)).nullish().transform((v) => v ?? null),
  categories: z.array(z.string().min(1)).nullish().transform((v) => v ?? null),
  levels,
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

export type SinkKind = 'cloudwatch' | 'file';

export interface Sink {
  id: string;
  name: string;
  kind: SinkKind;
  config: CloudWatchConfig | FileConfig;
  cursor: FeedPosition | null;
  delivered: number;
  lastDeliveredAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A sink and how far behind it is: committed events after its cursor, and the oldest one's age. */
export interface SinkStatus extends Sink {
  lag: number;
  lagSeconds: number;
}

type Row = typeof exportSinks.$inferSelect;

function toSink(row: Row): Sink {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as SinkKind,
    config: row.config as Sink['config'],
    cursor: row.cursorTxId && row.cursorId ? { txId: row.cursorTxId, id: row.cursorId } : null,
    delivered: Number(row.delivered),
    lastDeliveredAt: row.lastDeliveredAt,
    lastError: row.lastError,
    lastErrorAt: row.lastErrorAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function parseConfig<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.');
    throw new AuditError('BAD_USER_INPUT', `${field}: ${issue.message}`, { field });
  }
  return result.data;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 100) {
    throw new AuditError('BAD_USER_INPUT', 'name: must be 1 to 100 characters', { field: 'name' });
  }
  return trimmed;
}

export interface ConfigureSink {
  name: string;
  /** BEGINNING delivers every stored event; NOW (default) only those committed from now on. Used when the sink is created. */
  startAt?: 'BEGINNING' | 'NOW' | null | undefined;
  config: unknown;
}

/** Creates the sink, or changes the settings of the sink of that name (keeping its cursor). */
export async function configureSink(db: Db, kind: SinkKind, input: ConfigureSink): Promise<Sink> {
  const name = checkName(input.name);
  // Arguments left out arrive as null from GraphQL: they take their defaults.
  const given = Object.fromEntries(Object.entries(input.config as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined));
  const config = parseConfig<CloudWatchConfig | FileConfig>(kind === 'cloudwatch' ? cloudWatchConfigSchema : fileConfigSchema, given);
  const [existing] = await db.select().from(exportSinks).where(eq(exportSinks.name, name));
  if (existing) {
    if (existing.kind !== kind) {
      throw new AuditError('BAD_USER_INPUT', `name: the sink "${name}" is a ${existing.kind} sink; remove it first or pick another name`, { field: 'name' });
    }
    const [row] = await db
      .update(exportSinks)
      .set({ config, updatedAt: new Date(), lastError: null, lastErrorAt: null })
      .where(eq(exportSinks.id, existing.id))
      .returning();
    return toSink(row!);
  }
  const start = input.startAt === 'BEGINNING' ? null : await currentFeedPosition(db);
  const [row] = await db
    .insert(exportSinks)
    .values({ name, kind, config, cursorTxId: start?.txId ?? null, cursorId: start?.id ?? null })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new AuditError('BAD_USER_INPUT', `name: a sink "${name}" was created at the same time; try again`, { field: 'name' });
  return toSink(row);
}

export async function removeSink(db: Db, id: string): Promise<Sink> {
  const rows = /^[0-9a-f-]{36}$/i.test(id) ? await db.delete(exportSinks).where(eq(exportSinks.id, id)).returning() : [];
  if (rows.length === 0) throw new AuditError('NOT_FOUND', `There is no export sink ${id}`, { field: 'id' });
  return toSink(rows[0]!);
}

export async function listSinks(db: Db): Promise<Sink[]> {
  return (await db.select().from(exportSinks).orderBy(exportSinks.name)).map(toSink);
}

/**
 * Every sink with its lag: committed events after its cursor (those its filter skips included, and
 * those the committed feed still holds back behind an older running transaction).
 */
export async function sinkStatuses(db: Db): Promise<SinkStatus[]> {
  const sinks = await listSinks(db);
  return Promise.all(
    sinks.map(async (sink) => {
      const [row] = await queryRows<{ lag: string; oldest: string | Date | null }>(
        db,
        // Every committed event past the cursor, those that the feed's horizon still holds back included.
        sql`select count(*)::text as lag, min(recorded_at) as oldest from events
            ${sink.cursor ? sql`where (tx_id, id) > (${sink.cursor.txId}::xid8, ${sink.cursor.id}::bigint)` : sql``}`,
      );
      const oldest = row?.oldest ? new Date(row.oldest) : null;
      return { ...sink, lag: Number(row?.lag ?? 0), lagSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0 };
    }),
  );
}

/**
 * Takes (or renews) the right to deliver a sink for `seconds`; false while another instance holds
 * it. A lease instead of a row lock: a transaction held open during delivery would keep the
 * committed feed's horizon from moving for everyone.
 */
export async function claimLease(db: Db, sinkId: string, owner: string, seconds: number): Promise<Sink | null> {
  const rows = await db
    .update(exportSinks)
    .set({ leaseOwner: owner, leaseUntil: sql`now() + make_interval(secs => ${seconds})` })
    .where(
      sql`${exportSinks.id} = ${sinkId} and (${exportSinks.leaseOwner} is null or ${exportSinks.leaseOwner} = ${owner} or ${exportSinks.leaseUntil} < now())`,
    )
    .returning();
  return rows[0] ? toSink(rows[0]) : null;
}

export async function releaseLease(db: Db, sinkId: string, owner: string): Promise<void> {
  await db
    .update(exportSinks)
    .set({ leaseOwner: null, leaseUntil: null })
    .where(sql`${exportSinks.id} = ${sinkId} and ${exportSinks.leaseOwner} = ${owner}`);
}

/** Moves the cursor after a delivery that succeeded; only the lease holder may. */
export async function advanceCursor(db: Db, sinkId: string, owner: string, position: FeedPosition, delivered: number): Promise<boolean> {
  const rows = await db
    .update(exportSinks)
    .set({
      cursorTxId: position.txId,
      cursorId: position.id,
      delivered: sql`${exportSinks.delivered} + ${delivered}`,
      ...(delivered > 0 ? { lastDeliveredAt: new Date() } : {}),
    })
    .where(sql`${exportSinks.id} = ${sinkId} and ${exportSinks.leaseOwner} = ${owner}`)
    .returning({ id: exportSinks.id });
  return rows.length > 0;
}

export async function recordSinkError(db: Db, sinkId: string, message: string): Promise<void> {
  await db
    .update(exportSinks)
    .set({ lastError: message.slice(0, 2000), lastErrorAt: new Date() })
    .where(eq(exportSinks.id, sinkId));
}

export type { ExportLevel };
