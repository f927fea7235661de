import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Limits } from './env.js';
import { ErrorTriage } from './history/error-groups.js';
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
  errorTriage: ErrorTriage;
  limits: Limits;
  logger: Logger;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Limits, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const errorTriage = new ErrorTriage(db);
  await errorTriage.load();
  const ingestor = new Ingestor({ db, types, limits, errors: errorTriage, onCommitted: (events) => bus.publish(events) });
  return { database, db, types, ingestor, sessions: new Sessions(db, ingestor), bus, errorTriage, limits, logger };
}
