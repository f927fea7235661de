import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { migrationsFolder, queryRows, type Database } from '../db/client.js';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unavailable';
  migrations: { expected: number; applied: number; missing: string[] } | null;
  reason?: string;
}

/** The migrations this build ships (drizzle/meta/_journal.json), as tag → creation time. */
function expectedMigrations(): Array<{ tag: string; when: number }> {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: Array<{ tag: string; when: number }>;
  };
  return journal.entries.map(({ tag, when }) => ({ tag, when }));
}

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/**
 * Ready = the database answers and every migration shipped in drizzle/ is applied. Drizzle applies
 * the files whose creation time is after the last applied one, so a shipped migration counts as
 * applied when the latest applied one is at least as recent.
 */
export async function checkReadiness(database: Database, timeoutMs = 2000): Promise<Readiness> {
  const expected = expectedMigrations();
  let applied: Array<{ created_at: string | number }>;
  try {
    applied = await withTimeout(
      queryRows<{ created_at: string | number }>(database.db, sql`select created_at from drizzle.__drizzle_migrations`),
      timeoutMs,
    );
  } catch (error) {
    return { ready: false, database: 'unavailable', migrations: null, reason: `database: ${(error as Error).message}` };
  }
  const latest = Math.max(0, ...applied.map((row) => Number(row.created_at)));
  const missing = expected.filter((m) => m.when > latest).map((m) => m.tag);
  const migrations = { expected: expected.length, applied: applied.length, missing };
  return missing.length === 0
    ? { ready: true, database: 'ok', migrations }
    : { ready: false, database: 'ok', migrations, reason: `migrations not applied: ${missing.join(', ')}` };
}
