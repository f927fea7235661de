import type { App } from '../app.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { Closable } from '../services.js';

export interface ShutdownParts {
  app: App;
  closables: readonly Closable[];
  database: Database;
  logger: Logger;
  /** The whole shutdown must end within this many milliseconds. */
  timeoutMs: number;
}

/**
 * The order of a graceful stop: stop taking work and let in-flight requests finish (WebSockets are
 * closed with 1001 Going Away), then flush and stop background workers (last registered first),
 * then close the database. Resolves true when everything ended within the bound, false when the
 * bound was hit (the caller exits anyway).
 */
export async function shutdown({ app, closables, database, logger, timeoutMs }: ShutdownParts): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(0, deadline - Date.now());
  const steps = (async () => {
    // Leave a fifth of the bound for the workers and the database.
    await app.stop({ drainMs: Math.floor(timeoutMs * 0.8) });
    logger.info('HTTP and WebSocket server stopped');
    for (const closable of [...closables].reverse()) {
      try {
        await closable.close();
        logger.info({ closable: closable.name }, 'closed');
      } catch (err) {
        logger.error({ err, closable: closable.name }, 'could not close cleanly');
      }
    }
    await database.close();
    logger.info('database closed');
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), remaining())));
  const clean = await Promise.race([steps, bound]).catch((err: unknown) => {
    logger.error({ err }, 'shutdown failed');
    return false as const;
  });
  clearTimeout(timer);
  if (!clean) logger.warn({ timeoutMs }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS; exiting anyway');
  return clean;
}
