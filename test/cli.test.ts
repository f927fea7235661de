import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publicKeyInfo } from '../src/audit/signing-key.js';
import { openDatabase } from '../src/db/client.js';
import { rewriteChain } from './helpers/chain.js';
import { datameerLines } from './helpers/datameer.js';
import { sql } from './helpers/server.js';

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

  it('signs, exports and checks checkpoints, and finds a wholesale rewrite against the exported file', { timeout: 600_000 }, async () => {
    const created = cli('checkpoints', 'create');
    expect(created.code, created.stderr).toBe(0);
    const checkpoint = JSON.parse(created.stdout);
    expect(checkpoint.batch).toBeGreaterThan(0);
    // The first start on an embedded folder (the import above) generated the key beside the database, for its owner only.
    const keyFile = join(dir, 'data', 'checkpoint-key.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(publicKeyInfo(createPrivateKey(readFileSync(keyFile, 'utf8'))).id).toBe(checkpoint.keyId);

    const exported = cli('checkpoints', 'export');
    expect(exported.code, exported.stderr).toBe(0);
    const file = join(dir, 'checkpoints.json');
    writeFileSync(file, exported.stdout);
    expect(JSON.parse(exported.stdout).checkpoints).toHaveLength(1);
    const intact = cli('verify', '--checkpoints', file);
    expect(intact.code, intact.stdout + intact.stderr).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, checkpoints: 1 });

    // Someone with the data folder edits an event, recomputes every hash and removes the checkpoints.
    const database = await openDatabase({ dataDir: join(dir, 'data') });
    await database.db.execute(sql`update events set description = 'rewritten' where id = (select min(id) from events)`);
    await rewriteChain(database.db);
    await database.db.execute(sql`delete from checkpoints`);
    await database.close();

    const inside = cli('verify');
    expect(inside.code, inside.stdout + inside.stderr).toBe(0);
    const outside = cli('verify', '--checkpoints', file);
    expect(outside.code).toBe(2);
    expect(JSON.parse(outside.stdout).firstBroken).toMatchObject({ kind: 'checkpoint-head', batch: checkpoint.batch });

    const missing = cli('verify', '--checkpoints', join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--checkpoints: cannot read');
  });
});
