import { verifyIntegrity } from '../audit/integrity.js';
import { openDatabase } from '../db/client.js';
import { loadEnv } from '../env.js';
import { UsageError } from './context.js';

function dateOption(args: string[], name: string): Date | null {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const date = new Date(args[i + 1] ?? '');
  if (Number.isNaN(date.getTime())) throw new UsageError(`${name} needs an ISO time`);
  return date;
}

/**
 * Recomputes the hash chain and prints the first broken link. Exit status: 0 intact, 2 broken.
 * Embedded mode: stop the server first (a PGlite folder has one owner).
 */
export const verifyCommand = {
  usage: '[--since <ISO time>] [--until <ISO time>]',
  async run(args: string[]): Promise<number> {
    const range = { since: dateOption(args, '--since'), until: dateOption(args, '--until') };
    const env = loadEnv();
    const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
    try {
      const report = await verifyIntegrity(database.db, range);
      console.log(JSON.stringify(report, null, 2));
      return report.ok ? 0 : 2;
    } finally {
      await database.close();
    }
  },
};
