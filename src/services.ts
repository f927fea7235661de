import { EventTypeRegistry } from './audit/event-types.js';
import { Ingestor } from './audit/ingest.js';
import { Sessions } from './audit/sessions.js';
import { AuthService } from './auth/service.js';
import type { Database, Db } from './db/client.js';
import type { Env, Limits } from './env.js';
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
  auth: AuthService;
}

/** Seeds the event catalogue and wires the domain modules together (migrations must have run). */
export async function createServices(database: Database, limits: Env, logger: Logger): Promise<Services> {
  const db = database.db;
  const types = new EventTypeRegistry(db);
  await types.seed();
  const bus = new EventBus();
  const ingestor = new Ingestor({ db, types, limits, onCommitted: (events) => bus.publish(events) });
  const auth = new AuthService(database, { secret: limits.AUDIT_JWT_SECRET, jwksUrl: limits.AUDIT_JWKS_URL, issuer: limits.AUDIT_JWT_ISSUER, audience: limits.AUDIT_JWT_AUDIENCE }, logger.child({ module: 'auth' }), ingestor, limits.AUDIT_VIEWER_TOKEN_SECRET);
  await auth.start();
  return { database, db, types, ingestor, sessions: new Sessions(db, ingestor), bus, limits, logger, auth };
}
