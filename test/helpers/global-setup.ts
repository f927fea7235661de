import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase, runMigrations } from '../../src/db/client.js';

/**
 * Embedded mode: migrate one in-memory PGlite once and hand its dump to every test file, which
 * loads it instead of running initdb and the migrations again (a PGlite start costs seconds).
 */
export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) return;
  const dir = mkdtempSync(join(tmpdir(), 'audit-template-'));
  const database = await openDatabase({ dataDir: 'memory://' });
  await runMigrations(database);
  const dump = await database.dumpDataDir!();
  await database.close();
  const file = join(dir, 'template.tar.gz');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
