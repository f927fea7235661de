import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** A database or a transaction: domain functions take either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  mode: 'postgres' | 'embedded';
  /** Embedded mode only: the folder it was opened on (`memory://…` when in memory). */
  dataDir?: string;
  /**
   * Subscribes to a NOTIFY channel; resolves once listening, to a function that stops it.
   * `onListening` runs each time listening starts, again after a lost connection came back
   * (notifications sent in between are lost).
   */
  listen(channel: string, onPayload: (payload: string) => void, onListening?: () => void): Promise<() => Promise<void>>;
  /** Runs `work` while holding a cluster-wide advisory lock, so instances take turns. */
  exclusive<T>(lockKey: number, work: () => Promise<T>): Promise<T>;
  /** Embedded mode only: the data folder as a tarball (a template for tests and backups). */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Any arbitrary (non-zero) number shared by every instance: serialises migrations. */
const MIGRATION_LOCK = 7_311_002;

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; `memory://` keeps it in memory. */
  dataDir: string;
  poolSize?: number;
  /** A dump of an embedded data folder to start from (tests use a migrated template). */
  loadDataDir?: Blob | File;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : openEmbedded(options);
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    // Reconnect soon after the database comes back: postgres.js's default backoff grows (per pool)
    // to 20 s after a few refused attempts; cap it at 1 s (with jitter).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    // Dates and numbers come back as Drizzle expects them; bigint ids stay strings in raw SQL.
    connection: { application_name: 'audit-service' },
  });
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  return {
    db,
    mode: 'postgres',
    async listen(channel, onPayload, onListening) {
      const { unlisten } = await client.listen(channel, onPayload, onListening);
      return unlisten;
    },
    async exclusive(lockKey, work) {
      const holder = await client.reserve();
      try {
        await holder`select pg_advisory_lock(${lockKey})`;
        return await work();
      } finally {
        await holder`select pg_advisory_unlock(${lockKey})`.catch(() => undefined);
        holder.release();
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function openEmbedded(options: OpenOptions): Promise<Database> {
  if (!options.dataDir.startsWith('memory://')) mkdirSync(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return {
    db,
    mode: 'embedded',
    dataDir: options.dataDir,
    async listen(channel, onPayload, onListening) {
      const unlisten = await client.listen(channel, onPayload);
      onListening?.(); // one process owns the embedded database: its notifications are never lost
      return unlisten;
    },
    // One process owns an embedded database, so there is no one to take turns with.
    exclusive: (_lockKey, work) => work(),
    dumpDataDir: async () => (await client.dumpDataDir('gzip')) as Blob,
    async close() {
      await client.close();
    },
  };
}

/** Applies the migrations in drizzle/; several instances starting together take turns. */
export async function runMigrations(database: Database): Promise<void> {
  await database.exclusive(MIGRATION_LOCK, () =>
    database.mode === 'embedded'
      ? migratePglite(database.db as never, { migrationsFolder })
      : migratePostgres(database.db as never, { migrationsFolder }),
  );
}

const dialect = new PgDialect();

/**
 * Distinct statement texts run as prepared statements, per process. Each is prepared on each pool
 * connection that runs it and stays there, so the number is capped; past the cap, statements run
 * unprepared as before.
 */
const preparedTexts = new Set<string>();
const MAX_PREPARED_TEXTS = 200;

/**
 * The rows of a raw query, whichever driver ran it (postgres.js gives an array, PGlite `{ rows }`).
 *
 * `prepared`: on PostgreSQL, run it as a named prepared statement: parsed once per connection, one
 * round trip instead of two (an unnamed statement with parameters is described first), and, once
 * PostgreSQL settles on a generic plan, not planned again — planning a query over a dozen monthly
 * partitions costs milliseconds. For hot reads whose text does not vary with their input (pass
 * lists as one array parameter, not as `in (${list})`). PGlite runs it as any other query.
 */
export async function queryRows<T>(db: Db, query: SQL, options: { prepared?: boolean } = {}): Promise<T[]> {
  let result: unknown;
  if (options.prepared) {
    const built = dialect.sqlToQuery(query);
    const named = preparedTexts.has(built.sql) || (preparedTexts.size < MAX_PREPARED_TEXTS && Boolean(preparedTexts.add(built.sql)));
    // A name makes Drizzle's postgres.js session prepare the statement (the name itself is not used).
    result = await db._.session.prepareQuery(built, undefined, named ? 'prepared' : undefined, false).execute();
  } else {
    result = await db.execute(query);
  }
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
