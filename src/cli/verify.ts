import { readFileSync } from 'node:fs';
import { parseCheckpointFile } from '../audit/checkpoints.js';
import { verifyIntegrity, type VerifyOptions } from '../audit/integrity.js';
import { loadCheckpointKeys } from '../audit/signing-key.js';
import { openDatabase } from '../db/client.js';
import { loadEnv } from '../env.js';
import { createLogger } from '../logger.js';
import { UsageError } from './context.js';

function option(args: string[], name: string): string | null {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const value = args[i + 1];
  if (!value || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

function dateOption(args: string[], name: string): Date | null {
  const value = option(args, name);
  if (value === null) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${name} needs an ISO time`);
  return date;
}

/**
 * Recomputes the hash chain and prints the first broken link. Exit status: 0 intact, 2 broken.
 * With `--checkpoints FILE` (an export kept outside the database) the checkpoints and keys of that
 * file are what is trusted, so a wholesale rewrite of the database is found; without it, the
 * server's configured key. Embedded mode: stop the server first (a PGlite folder has one owner).
 */
export const verifyCommand = {
  usage: '[--since <ISO time>] [--until <ISO time>] [--checkpoints <exported file>]',
  async run(args: string[]): Promise<number> {
    const options: VerifyOptions = { since: dateOption(args, '--since'), until: dateOption(args, '--until') };
    const file = option(args, '--checkpoints');
    if (file !== null) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new UsageError(`--checkpoints: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      const kept = parseCheckpointFile(text);
      options.trusted = kept.keys;
      options.external = kept.checkpoints;
    }
    const env = loadEnv();
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
    try {
      if (file === null) {
        const sources = { pem: env.AUDIT_CHECKPOINT_KEY, file: env.AUDIT_CHECKPOINT_KEY_FILE, trustedFile: env.AUDIT_CHECKPOINT_TRUSTED_KEYS_FILE };
        options.trusted = loadCheckpointKeys({ ...sources, dataDir: database.dataDir, generate: false }, createLogger('warn', 2)).trusted;
      }
      const report = await verifyIntegrity(database.db, options);
      console.log(JSON.stringify(report, null, 2));
      return report.ok ? 0 : 2;
    } finally {
      await database.close();
    }
  },
};
