import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RollingFile } from '../src/export/file-sink.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'audit-file-export-'));

beforeAll(async () => {
  server = await startTestServer({ EXPORT_POLL_MS: '30', EXPORT_FILE_DIR: dir });
});
afterAll(async () => {
  await server?.services.exports.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CONFIGURE = `mutation($input: FileExportInput!) { configureFileExport(input: $input) { id name kind config } }`;
const SINKS = `{ exportSinks { name lag delivered lastError } }`;
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('rolling JSON-lines file export', () => {
  it('rotates at the size limit and keeps the set number of backups, in commit order', async () => {
    const res = await server.gql(CONFIGURE, {
      input: { name: 'useraction', path: 'logs/useraction.log', maxFileSizeBytes: 2000, maxBackups: 3, startAt: 'BEGINNING', categories: ['query', 'log'] },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.configureFileExport).toMatchObject({ kind: 'FILE', config: { maxFileSizeBytes: 2000, maxBackups: 3, levels: ['error', 'warning', 'info'] } });

    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const events = Array.from({ length: 25 }, (_, i) => ({
        type: i % 2 ? 'query-created' : 'log',
        user: 'alice',
        message: `event ${batch * 25 + i}`,
        parameters: { query: { type: 'query', id: `q${i}` } },
      }));
      const out = await server.gql(LOG_BATCH, { events });
      ids.push(...out.data.logBatch.results.map((r: any) => r.event.id));
      // Other categories are filtered out but still pass the cursor.
      await server.gql(`mutation { log(input: { type: "login", user: "bob" }) { recorded } }`);
    }
    server.services.exports.start();
    await until(async () => (await server.gql(SINKS)).data.exportSinks[0].lag === 0, 'the file sink to catch up');
    await server.services.exports.stop();

    const base = join(dir, 'logs/useraction.log');
    const files = [`${base}.3`, `${base}.2`, `${base}.1`, base];
    for (const file of files) {
      expect(existsSync(file), file).toBe(true);
      expect(statSync(file).size).toBeLessThanOrEqual(2000);
      expect(statSync(file).size).toBeGreaterThan(1000);
    }
    expect(existsSync(`${base}.4`)).toBe(false);
    const kept = files.flatMap(lines);
    // The newest lines, without a gap, in commit order; the oldest rolled off the last backup.
    expect(kept.at(-1).id).toBe(ids.at(-1));
    expect(kept.map((r) => r.id)).toEqual(ids.slice(ids.length - kept.length));
    expect(kept.length).toBeLessThan(ids.length);
    expect(kept[0]).toMatchObject({ user: 'alice', level: 'info', params: { query: { type: 'query', id: expect.any(String) } } });
    expect(kept.every((r) => r.category !== 'authentication')).toBe(true);
    expect((await server.gql(SINKS)).data.exportSinks[0]).toMatchObject({ delivered: 100, lastError: null });
  });

  it('keeps a file sink inside EXPORT_FILE_DIR', async () => {
    for (const path of ['../escape.log', '/etc/passwd', 'a/../../b.log']) {
      const res = await server.gql(CONFIGURE, { input: { name: 'bad', path } });
      expect(res.errors?.[0]?.extensions, path).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
    }
  });

  it('gives a line longer than the limit a file of its own and never splits a line', async () => {
    const path = join(dir, 'direct.log');
    const file = new RollingFile(path, 256, 2);
    await file.append(['a'.repeat(100), 'b'.repeat(100)]);
    await file.append(['c'.repeat(300)]);
    await file.append(['d'.repeat(10)]);
    await file.close();
    expect(readFileSync(`${path}.2`, 'utf8')).toBe(`${'a'.repeat(100)}\n${'b'.repeat(100)}\n`);
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(`${'c'.repeat(300)}\n`);
    expect(readFileSync(path, 'utf8')).toBe(`${'d'.repeat(10)}\n`);
  });
});
