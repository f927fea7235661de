import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datameerLines } from './helpers/datameer.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `npm run cli -- …` as a user runs it, on its own embedded database in a temporary folder. */
function cli(...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  const result = spawnSync('npm', ['run', '--silent', 'cli', '--', ...args], { cwd: root, env, encoding: 'utf8', timeout: 180_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run cli', () => {
  it('imports a Datameer log, stores nothing the second time, and exports what it stored', { timeout: 600_000 }, () => {
    const file = join(dir, 'useraction.log');
    writeFileSync(file, `${datameerLines().join('\n')}\nnot json\n`);
    const count = datameerLines().length;

    const first = cli('import', file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`read ${count + 1}, stored ${count}, skipped 1`);
    expect(first.stdout).toContain('skipped 1: not JSON');
    expect(first.stdout).toContain(`line ${count + 1}: not JSON`);

    const second = cli('import', file, '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: count + 1, stored: 0, skipped: count + 1, reasons: { 'already stored': count, 'not JSON': 1 } });

    const out = join(dir, 'auth.csv');
    const exported = cli('export', '--format', 'csv', '--category', 'authentication', '--out', out);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`exported 5 events to ${out}`);
    const rows = readFileSync(out, 'utf8').trim().split('\r\n');
    expect(rows).toHaveLength(6);
    expect(rows.slice(1).map((r) => r.split(',')[3]).sort()).toEqual(['failed-login', 'login', 'login-disabled-account', 'logout', 'session-timeout']);

    const usage = cli('export', '--format', 'xml');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--format: "xml" is not jsonl or csv');
  });
});
