import { Checkpointer } from './audit/checkpoints.js';
import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { loadCheckpointKeys } from './audit/signing-key.js';
import { Sessions } from './audit/sessions.js';
import { AuthService } from './auth/service.js';
import type { Database, Db } from './db/client.js';
import type { Env } from './env.js';
import { ErrorTriage } from './history/error-groups.js';
import { ExportWorkers } from './export/worker.js';
import { EventBus } from './live/event-bus.js';
import { Fanout } from './live/fanout.js';
import { FeedTail } from './live/feed-tail.js';
import { Partitions } from './retention/partitions.js';
import { Retention, RetentionWorker } from './retention/retention.js';
import type { Logger } from './logger.js';
import { RecordingPolicy } from './settings/policy.js';
import { SettingsService } from './settings/service.js';
import { Metrics } from './ops/metrics.js';

/** Everything a request or a worker needs, built once per process. */
export interface Services {
  database: Database;
  db: Db;
  types: EventTypeRegistry;
  ingestor: Ingestor;
  sessions: Sessions;
  bus: EventBus;
  /** Live subscriptions with identical results share one feed (graphql-ws.ts): serialised payloads. */
  fanout: Fanout<Buffer>;
  /** Follows the log in commit order and feeds `bus`, on every instance. */
  tail: FeedTail;
  partitions: Partitions;
  retention: Retention;
  /** Signed checkpoints of the hash chain: on demand, periodically and with each retention drop. */
  checkpoints: Checkpointer;
  errorTriage: ErrorTriage;
  limits: Env;
  logger: Logger;
  auth: AuthService;
  /** The export sinks' delivery loop; main.ts starts it, tests start and stop it themselves. */
  exports: ExportWorkers;
  /** Logger settings as the write path applies them (an in-memory cache, reloaded on NOTIFY). */
  recording: RecordingPolicy;
  settings: SettingsService;
  /** Prometheus metrics (/metrics); exporters report their lag with `metrics.registerExportLag`. */
  metrics: Metrics;
  /**
   * Background workers (exporters, …) register here; on shutdown they are closed last-registered
   * first, after HTTP and WebSockets stopped and before the database closes. `close` should flush.
   */
  closables: Closable[];
  /** Closes the closables, last registered first (tests; `main` goes through ops/shutdown.ts). */
  close(): Promise<void>;
}

export interface Closable {
  name: string;
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
  const closables: Closable[] = [{ name: 'logger settings', close: () => recording.stop() }];
  const tail = new FeedTail(database, bus, logger.child({ module: 'feed' }));
  await tail.start();
  closables.push({ name: 'feed tail', close: () => tail.stop() });
  const partitions = new Partitions(database);
  const errorTriage = new ErrorTriage(db);
  await errorTriage.load();
  const fanout = new Fanout<Buffer>(limits.SUBSCRIBER_BUFFER);
  const metrics = new Metrics(() => fanout.subscribers);
  const ingestor = new Ingestor({
    db,
    types,
    limits,
    metrics,
    errors: errorTriage,
    recording,
    ensurePartitions: (moments) => partitions.ensureFor(moments),
    onCommitted: (events) => tail.committed(events),
  });
  const settings = new SettingsService({ database, types, ingestor, policy: recording });
  const checkpointLog = logger.child({ module: 'checkpoints' });
  const checkpointKeys = loadCheckpointKeys(
    { pem: limits.AUDIT_CHECKPOINT_KEY, file: limits.AUDIT_CHECKPOINT_KEY_FILE, trustedFile: limits.AUDIT_CHECKPOINT_TRUSTED_KEYS_FILE, dataDir: database.dataDir, generate: true },
    checkpointLog,
  );
  const checkpoints = new Checkpointer(database, checkpointKeys, checkpointLog, limits.CHECKPOINT_INTERVAL_MINUTES * 60_000);
  await checkpoints.start();
  closables.push({ name: 'checkpoints', close: () => checkpoints.stop() });
  if (checkpointKeys.signing) checkpointLog.info({ keyId: checkpointKeys.signing.publicKey.id }, 'checkpoints are signed with this key');
  const retention = new Retention(database, partitions, ingestor, checkpoints, logger.child({ module: 'retention' }));
  const retentionWorker = new RetentionWorker(partitions, retention, logger.child({ module: 'retention' }), limits.RETENTION_CHECK_MINUTES * 60_000);
  await retentionWorker.start();
  closables.push({ name: 'retention', close: () => retentionWorker.stop() });
  const auth = new AuthService(
    database,
    { secret: limits.AUDIT_JWT_SECRET, jwksUrl: limits.AUDIT_JWKS_URL, issuer: limits.AUDIT_JWT_ISSUER, audience: limits.AUDIT_JWT_AUDIENCE },
    logger.child({ module: 'auth' }),
    ingestor,
    limits.AUDIT_VIEWER_TOKEN_SECRET,
  );
  await auth.start();
  closables.push({ name: 'auth', close: () => auth.stop() });
  const exports = new ExportWorkers({ db, logger, pollMs: limits.EXPORT_POLL_MS, retryMaxMs: limits.EXPORT_RETRY_MAX_MS, fileDir: limits.EXPORT_FILE_DIR });
  // Last registered, so closed first on shutdown: delivery stops (flushing files) before the rest.
  closables.push({ name: 'exports', close: () => exports.stop() });
  return {
    database,
    db,
    types,
    ingestor,
    sessions: new Sessions(db, ingestor),
    bus,
    fanout,
    tail,
    partitions,
    retention,
    checkpoints,
    errorTriage,
    recording,
    settings,
    auth,
    exports,
    limits,
    logger,
    metrics,
    closables,
    async close() {
      for (const closable of [...closables].reverse()) await closable.close();
    },
  };
}
