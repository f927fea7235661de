import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Limits } from './env.js';
import { ExportWorkers } from './export/worker.js';
import { EventBus } from './live/event-bus.js';
import type { Logger } from './logger.js';

/** Everything a request or a worker needs, built once per process. */
export interface Services {
  database: Database;
  db: Db;
  types: EventTypeRegistry;
  ingestor: Ingestor;
  sessions: Sessions;
  bus: EventBus;
  limits: Limits;
  logger: Logger;
  /** The export sinks' delivery loop; main.ts starts it, tests start and stop it themselves. */
  exports: ExportWorkers;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Limits, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const ingestor = new Ingestor({ db, types, limits, onCommitted: (events) => bus.publish(events) });
  const exports = new ExportWorkers({ db, logger, pollMs: limits.EXPORT_POLL_MS, retryMaxMs: limits.EXPORT_RETRY_MAX_MS, fileDir: limits.EXPORT_FILE_DIR });
  return { database, db, types, ingestor, sessions: new Sessions(db, ingestor), bus, limits, logger, exports };
}
