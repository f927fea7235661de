import { verifyIntegrity } from '../audit/integrity.js';
import { openDatabase } from '../db/client.js';
import { EnvError, loadEnv } from '../env.js';

const USAGE = `usage: npm run cli -- verify [--since <ISO time>] [--until <ISO time>]
  Recomputes the hash chain of the audit log and prints the first broken link.
  Exit status: 0 intact, 2 broken, 1 error. (Embedded mode: stop the server first; PGlite has one owner.)`;

function option(args: string[], name: string): Date | null {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const date = new Date(args[i + 1] ?? '');
  if (Number.isNaN(date.getTime())) throw new Error(`${name} needs an ISO time`);
  return date;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'verify') {
    console.error(USAGE);
    return 1;
  }
  const env = loadEnv();
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
  try {
    const report = await verifyIntegrity(database.db, { since: option(rest, '--since'), until: option(rest, '--until') });
    console.log(JSON.stringify(report, null, 2));
    return report.ok ? 0 : 2;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof EnvError || error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
