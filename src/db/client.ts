import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
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
  /** Subscribes to a NOTIFY channel; resolves once listening, to a function that stops it. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
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
    async listen(channel, onPayload) {
      const { unlisten } = await client.listen(channel, onPayload);
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
    async listen(channel, onPayload) {
      return client.listen(channel, onPayload);
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

/** The rows of a raw query, whichever driver ran it (postgres.js gives an array, PGlite `{ rows }`). */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
