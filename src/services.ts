import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Limits } from './env.js';
import { EventBus } from './live/event-bus.js';
import type { Logger } from './logger.js';
import { RecordingPolicy } from './settings/policy.js';
import { SettingsService } from './settings/service.js';

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
  /** Logger settings as the write path applies them (an in-memory cache, reloaded on NOTIFY). */
  recording: RecordingPolicy;
  settings: SettingsService;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Limits, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const recording = new RecordingPolicy(database, logger.child({ module: 'settings' }));
  await recording.start();
  const ingestor = new Ingestor({ db, types, limits, recording, onCommitted: (events) => bus.publish(events) });
  const settings = new SettingsService({ database, types, ingestor, policy: recording });
  return { database, db, types, ingestor, sessions: new Sessions(db, ingestor), bus, limits, logger, recording, settings };
}
