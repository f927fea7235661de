import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Limits } from './env.js';
import { EventBus } from './live/event-bus.js';
import { FeedTail } from './live/feed-tail.js';
import type { Logger } from './logger.js';

/** Everything a request or a worker needs, built once per process. */
export interface Services {
  database: Database;
  db: Db;
  types: EventTypeRegistry;
  ingestor: Ingestor;
  sessions: Sessions;
  bus: EventBus;
  /** Follows the log in commit order and feeds `bus`, on every instance. */
  tail: FeedTail;
  limits: Limits;
  logger: Logger;
  /** Stops background work (the database stays open: its owner closes it). */
  close(): Promise<void>;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Limits, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const tail = new FeedTail(database, bus, logger.child({ module: 'feed' }));
  await tail.start();
  const ingestor = new Ingestor({ db, types, limits, onCommitted: (events) => tail.committed(events) });
  return {
    database,
    db,
    types,
    ingestor,
    sessions: new Sessions(db, ingestor),
    bus,
    tail,
    limits,
    logger,
    close: () => tail.stop(),
  };
}
