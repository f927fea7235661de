import { openDatabase, runMigrations } from '../db/client.js';
import { EnvError, loadEnv } from '../env.js';
import { createLogger } from '../logger.js';
import { createServices, type Services } from '../services.js';

/** Opens the database as the server does (same variables, migrations run) for one command; logs go to stderr. */
export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  let env;
  try {
    env = loadEnv();
  } catch (error) {
    if (error instanceof EnvError) throw new UsageError(error.message);
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, 2);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 });
  try {
    await runMigrations(database);
    return await work(await createServices(database, env, logger));
  } finally {
    await database.close();
  }
}

/** A mistake in the command line: printed without a stack, exit code 2. */
export class UsageError extends Error {}
