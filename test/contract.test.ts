import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../src/env.js';
import { printedSchema } from '../src/graphql/index.js';

const root = new URL('..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('contract', () => {
  it('schema.graphql is the schema the code builds', () => {
    expect(readFileSync(join(root, 'schema.graphql'), 'utf8')).toBe(printedSchema());
  });

  it('keeps the public root fields of the design', () => {
    const printed = printedSchema();
    for (const field of ['event(', 'events(', 'eventTypes', 'entity(', 'user(', 'log(', 'logBatch(', 'startSession(', 'endSession(', 'errors(', 'entityActivity(', 'errorGroups(', 'setErrorGroupStatus(', 'functionUsage(', 'performance(', 'usage(', 'menuItemUsage(', 'usagePatterns(']) {
      expect(printed).toContain(`  ${field}`);
    }
  });

  it('domain modules never import the GraphQL layer, and the GraphQL layer never writes SQL', () => {
    const src = join(root, 'src');
    for (const file of sourceFiles(src)) {
      const text = readFileSync(file, 'utf8');
      const inGraphql = file.includes('/src/graphql/');
      // The servers (HTTP in app.ts, WebSocket in graphql-ws.ts) and the CLI sit on top of both layers.
      const edge = file.endsWith('/src/app.ts') || file.endsWith('/src/graphql-ws.ts') || file.includes('/src/cli/');
      if (!inGraphql && !edge) {
        expect(text, file).not.toMatch(/from '\.{1,2}\/(\.\.\/)*graphql\//);
      }
      if (inGraphql) expect(text, file).not.toMatch(/drizzle-orm|\bsql`/);
    }
  });
});

describe('configuration', () => {
  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadEnv({ PORT: 'eighty', DATABASE_URL: 'mysql://x', MAX_BATCH_SIZE: '0', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    const names = (error as EnvError).problems.map((p) => p.split(':')[0]);
    expect(names.sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'MAX_BATCH_SIZE', 'PORT']);
  });

  it('has working defaults and treats empty strings as unset', () => {
    const env = loadEnv({ PORT: '', DATABASE_URL: '' });
    expect(env).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', DATA_DIR: './data', MAX_BATCH_SIZE: 1000, MAX_PAGE_SIZE: 500 });
    expect(env.DATABASE_URL).toBeUndefined();
  });
});
