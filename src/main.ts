import { buildApp } from './app.js';
import { openDatabase, runMigrations } from './db/client.js';
import { EnvError, loadEnv } from './env.js';
import { createLogger } from './logger.js';
import { createServices } from './services.js';

// Start: env → logger → database (migrated) → services → HTTP and WebSocket server.
async function main() {
  let env;
  try {
    env = loadEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE });
  await runMigrations(database);
  const services = await createServices(database, env, logger);
  const app = buildApp(services);
  const { url } = await app.start(env.PORT, env.HOST);
  services.exports.start();
  logger.info(
    { url, database: database.mode === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${env.DATA_DIR}` },
    `Audit service ready: GraphiQL at ${url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.stop();
    await services.exports.stop();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
