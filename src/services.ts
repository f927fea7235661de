import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Limits } from './env.js';
import { EventBus } from './live/event-bus.js';
import type { Logger } from './logger.js';
import { Metrics } from './ops/metrics.js';

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
  /** Prometheus metrics (/metrics); exporters report their lag with `metrics.registerExportLag`. */
  metrics: Metrics;
  /**
   * Background workers (exporters, …) register here; on shutdown they are closed last-registered
   * first, after HTTP and WebSockets stopped and before the database closes. `close` should flush.
   */
  closables: Closable[];
}

export interface Closable {
  name: string;
  close(): Promise<void>;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Limits, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const metrics = new Metrics(() => bus.size);
  const ingestor = new Ingestor({ db, types, limits, metrics, onCommitted: (events) => bus.publish(events) });
  return { database, db, types, ingestor, sessions: new Sessions(db, ingestor), bus, limits, logger, metrics, closables: [] };
}
