import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import type { Database, Db } from './db/client.js';
import type { Env } from './env.js';
import { ErrorTriage } from './history/error-groups.js';
import { EventBus } from './live/event-bus.js';
import { FeedTail } from './live/feed-tail.js';
import { Partitions } from './retention/partitions.js';
import { Retention, RetentionWorker } from './retention/retention.js';
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
  /** Follows the log in commit order and feeds `bus`, on every instance. */
  tail: FeedTail;
  partitions: Partitions;
  retention: Retention;
  errorTriage: ErrorTriage;
  limits: Env;
  logger: Logger;
  /** Logger settings as the write path applies them (an in-memory cache, reloaded on NOTIFY). */
  recording: RecordingPolicy;
  settings: SettingsService;
  /** Stops background work (the database stays open: its owner closes it). */
  close(): Promise<void>;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Env, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const recording = new RecordingPolicy(database, logger.child({ module: 'settings' }));
  await recording.start();
  const tail = new FeedTail(database, bus, logger.child({ module: 'feed' }));
  await tail.start();
  const partitions = new Partitions(database);
  const errorTriage = new ErrorTriage(db);
  await errorTriage.load();
  const ingestor = new Ingestor({
    db,
    types,
    limits,
    errors: errorTriage,
    recording,
    ensurePartitions: (moments) => partitions.ensureFor(moments),
    onCommitted: (events) => tail.committed(events),
  });
  const settings = new SettingsService({ database, types, ingestor, policy: recording });
  const retention = new Retention(db, partitions, ingestor, logger.child({ module: 'retention' }));
  const retentionWorker = new RetentionWorker(partitions, retention, logger.child({ module: 'retention' }), limits.RETENTION_CHECK_MINUTES * 60_000);
  await retentionWorker.start();
  return {
    database,
    db,
    types,
    ingestor,
    sessions: new Sessions(db, ingestor),
    bus,
    tail,
    partitions,
    retention,
    errorTriage,
    recording,
    settings,
    limits,
    logger,
    close: async () => {
      await retentionWorker.stop();
      await tail.stop();
      await recording.stop();
    },
  };
}
