import { buildApp } from './app.js';
import { SigningKeyError } from './audit/signing-key.js';
import { bootstrapBanner, bootstrapCredentials, RefuseToStart } from './auth/bootstrap.js';
import { openDatabase, runMigrations } from './db/client.js';
import { EnvError, loadEnv } from './env.js';
import { createLogger } from './logger.js';
import { shutdown } from './ops/shutdown.js';
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
  let services;
  try {
    services = await createServices(database, env, logger);
  } catch (error) {
    if (error instanceof SigningKeyError) {
      console.error(`Invalid checkpoint key: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  let bootstrap;
  try {
    bootstrap = await bootstrapCredentials(services.db, { host: env.HOST, adminKey: env.AUDIT_BOOTSTRAP_ADMIN_KEY, jwtConfigured: services.auth.jwtConfigured });
  } catch (error) {
    if (error instanceof RefuseToStart) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const app = buildApp(services);
  const { url } = await app.start(env.PORT, env.HOST);
  // Printed, not logged: the key must never reach a log pipeline, and is shown this once.
  if (bootstrap.createdKey) process.stderr.write(`${bootstrapBanner(bootstrap.createdKey, url)}\n`);
  services.exports.start();
  logger.info(
    { url, database: database.mode === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${env.DATA_DIR}` },
    `Audit service ready: GraphiQL at ${url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'stopping');
    const clean = await shutdown({ app, closables: services.closables, database, logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
    logger.info({ clean }, 'stopped');
    logger.flush();
    process.exit(clean ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
