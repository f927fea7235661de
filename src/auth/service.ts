import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import type { Ingestor } from '../audit/ingest.js';
import type { LogInput } from '../audit/model.js';
import { AuditError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ApiKeyCache, createApiKey, listApiKeys, revokeApiKey, type ApiKeyView, type NewApiKey } from './api-keys.js';
import { ANONYMOUS, bearerToken, looksLikeJwt, type AuthContext } from './credentials.js';
import { jwtVerifier, type JwtConfig, type JwtVerifier } from './jwt.js';
import { ViewerTokens } from './viewer-tokens.js';
import { readableFilter, viewOfOthers } from './visibility.js';
import type { EventFilter } from '../history/events.js';

/** What a socket needs to offer to be closed when its credential is revoked. */
export interface ClosableSocket {
  close(code?: number, reason?: string): void;
}

/** NOTIFY channel: a credential was revoked; every instance closes its sockets. */
const REVOKED_CHANNEL = 'audit_credential_revoked';
/** graphql-ws's close code for a refused credential. */
export const CLOSE_FORBIDDEN = 4403;

const CREDENTIAL_NAMES = { 'api-key': 'API key', jwt: 'JWT', viewer: 'Viewer token' } as const;
/** setTimeout's longest delay (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `action` when `at` comes; returns the function that cancels it. */
function runAt(at: Date, action: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const remaining = at.getTime() - Date.now();
    if (remaining <= 0) return action();
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * Authentication (API keys and JWTs), key management, and the open WebSockets of each credential
 * so that revoking a key closes them on every instance.
 */
export class AuthService {
  private readonly verifyJwt: JwtVerifier | null;
  private readonly viewerTokens: ViewerTokens;
  private readonly keys: ApiKeyCache;
  private readonly sockets = new Map<string, Set<ClosableSocket>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    jwt: JwtConfig,
    private readonly logger: Logger,
    private readonly ingestor: Ingestor,
    viewerSecret?: string,
  ) {
    this.verifyJwt = jwtVerifier(jwt);
    this.viewerTokens = new ViewerTokens(viewerSecret);
    this.keys = new ApiKeyCache(database.db);
  }

  get jwtConfigured(): boolean {
    return this.verifyJwt !== null;
  }

  async start(): Promise<void> {
    this.stopListening = await this.database.listen(
      REVOKED_CHANNEL,
      (credentialId) => {
        this.keys.forget(credentialId);
        this.closeSockets(credentialId);
      },
      // Listening (re)started: revocations sent while it was down are lost, so no cached key is trusted.
      () => this.keys.clear(),
    );
  }

  async stop(): Promise<void> {
    await this.stopListening?.().catch(() => undefined);
  }

  /** The caller of a request: anonymous without a credential; UNAUTHENTICATED for a bad one. */
  async authenticate(headers: Headers | undefined, connectionParams?: Record<string, unknown>): Promise<AuthContext> {
    const token = bearerToken(headers, connectionParams);
    if (!token) return ANONYMOUS;
    if (looksLikeJwt(token) && ViewerTokens.isViewerToken(token)) return this.viewerTokens.verify(token);
    if (looksLikeJwt(token)) {
      if (!this.verifyJwt) throw new AuditError('UNAUTHENTICATED', 'This server accepts no JWTs (set AUDIT_JWT_SECRET or AUDIT_JWKS_URL).');
      return this.verifyJwt(token);
    }
    return this.keys.authenticate(token);
  }

  async createApiKey(input: NewApiKey, by: AuthContext): Promise<{ key: string; apiKey: ApiKeyView }> {
    const created = await createApiKey(this.database.db, input);
    this.record(by, 'api-key-created', `API key "${created.apiKey.name}" created`, { apiKey: created.apiKey.id, scopes: created.apiKey.scopes.join(' '), boundUser: created.apiKey.userLogin });
    return created;
  }

  /** Mints a short-lived token that reads one entity's or one group's activity. */
  async createViewerToken(grant: { entity?: { type: string; id: string } | null; group?: string | null }, ttlSeconds: number, by: AuthContext) {
    const created = await this.viewerTokens.create(grant, ttlSeconds, by);
    this.record(by, 'viewer-token-created', 'Viewer token created', {
      entity: grant.entity ? `${grant.entity.type}/${grant.entity.id}` : null,
      group: grant.group ?? null,
      expiresAt: created.expiresAt.toISOString(),
    });
    return created;
  }

  /**
   * The filter this caller may read with (see readableFilter); looking at someone else's activity
   * (a viewer token, or a person reading another user) is recorded as `audit-log-viewed`.
   */
  readable(auth: AuthContext, filter: EventFilter, field: string): EventFilter {
    const restricted = readableFilter(auth, filter);
    const viewed = viewOfOthers(auth, restricted);
    if (viewed) this.record(auth, 'audit-log-viewed', `Read ${field}`, { field, ...viewed });
    return restricted;
  }

  /** An administrative call was refused: recorded as an `access-denied` event, never failing the caller. */
  recordDenial(auth: AuthContext, field: string): void {
    this.record(auth, 'access-denied', `Refused ${field}: ${auth.authenticated ? 'missing scope' : 'no credential'}`, { field });
  }

  /** Records an event about the caller in the background; a failure is logged, not thrown. */
  record(auth: AuthContext, type: string, message: string, parameters: Record<string, unknown>): void {
    const input: LogInput = {
      type,
      message,
      user: auth.userLogin,
      source: 'SERVER',
      parameters: { ...parameters, caller: auth.credentialId ?? 'anonymous', callerName: auth.label },
    };
    this.ingestor.log(input).catch((err: unknown) => this.logger.error({ err, type }, 'could not record an audit event about access'));
  }

  listApiKeys(): Promise<ApiKeyView[]> {
    return listApiKeys(this.database.db);
  }

  /** Revokes a key and closes its WebSockets here and, through NOTIFY, on every other instance. */
  async revokeApiKey(id: string, by: AuthContext): Promise<ApiKeyView> {
    const key = await revokeApiKey(this.database.db, id);
    this.record(by, 'api-key-revoked', `API key "${key.name}" revoked`, { apiKey: key.id });
    const credentialId = `key:${key.id}`;
    this.keys.forget(credentialId);
    this.closeSockets(credentialId);
    await this.database.db.execute(sql`select pg_notify(${REVOKED_CHANNEL}, ${credentialId})`).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not tell other instances about a revoked key');
    });
    return key;
  }

  /**
   * Remembers an open socket of a credential, closed when the credential is revoked (here or on any
   * instance) or expires (each instance times its own sockets); returns the function that forgets it.
   */
  trackSocket(auth: AuthContext, socket: ClosableSocket): () => void {
    const id = auth.credentialId;
    if (!id) return () => {};
    const set = this.sockets.get(id) ?? new Set();
    set.add(socket);
    this.sockets.set(id, set);
    const cancelExpiry = auth.expiresAt ? runAt(auth.expiresAt, () => socket.close(CLOSE_FORBIDDEN, `${CREDENTIAL_NAMES[auth.kind ?? 'api-key']} expired`)) : null;
    return () => {
      cancelExpiry?.();
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(id) === set) this.sockets.delete(id);
    };
  }

  private closeSockets(credentialId: string): void {
    const set = this.sockets.get(credentialId);
    if (!set) return;
    this.sockets.delete(credentialId);
    for (const socket of set) socket.close(CLOSE_FORBIDDEN, 'Credential revoked');
  }
}
