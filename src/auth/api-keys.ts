import { createHash, randomBytes } from 'node:crypto';
import { count, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { isScope, type AuthContext, type Scope } from './credentials.js';

export type ApiKeyView = Omit<typeof apiKeys.$inferSelect, 'hash'>;

export interface NewApiKey {
  name: string;
  scopes: string[];
  userLogin?: string | null | undefined;
  expiresAt?: Date | null | undefined;
}

/** Keys are 32 random bytes; the prefix tells them from JWTs and from other systems' secrets. */
export const KEY_PREFIX = 'audit_';

export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const view = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  scopes: apiKeys.scopes,
  userLogin: apiKeys.userLogin,
  expiresAt: apiKeys.expiresAt,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
};

function checkNewKey(input: NewApiKey, now: Date): { name: string; scopes: Scope[]; userLogin: string | null; expiresAt: Date | null } {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new AuditError('BAD_USER_INPUT', 'name must be 1 to 200 characters', { field: 'name' });
  const scopes = [...new Set(input.scopes)];
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) throw new AuditError('BAD_USER_INPUT', `unknown scopes: ${unknown.join(', ')}`, { field: 'scopes' });
  const userLogin = input.userLogin?.trim() || null;
  if (scopes.length === 0 && !userLogin) {
    throw new AuditError('BAD_USER_INPUT', 'a key needs at least one scope, or a bound user (who may then read their own activity)', { field: 'scopes' });
  }
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && expiresAt.getTime() <= now.getTime()) throw new AuditError('BAD_USER_INPUT', 'expiresAt must be in the future', { field: 'expiresAt' });
  return { name, scopes: scopes as Scope[], userLogin, expiresAt };
}

/** Creates a key and returns it: the only time the key itself is seen; only its hash is stored. */
export async function createApiKey(db: Db, input: NewApiKey, key = generateKey()): Promise<{ key: string; apiKey: ApiKeyView }> {
  const checked = checkNewKey(input, new Date());
  const [row] = await db
    .insert(apiKeys)
    .values({ ...checked, prefix: key.slice(0, KEY_PREFIX.length + 6), hash: hashKey(key) })
    .returning(view);
  return { key, apiKey: row! };
}

/** Marks a key revoked (idempotent); returns it. */
export async function revokeApiKey(db: Db, id: string): Promise<ApiKeyView> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AuditError('NOT_FOUND', `no API key ${id}`, { field: 'id' });
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(eq(apiKeys.id, id))
    .returning(view);
  if (!row) throw new AuditError('NOT_FOUND', `no API key ${id}`, { field: 'id' });
  return row;
}

export async function listApiKeys(db: Db): Promise<ApiKeyView[]> {
  return db.select(view).from(apiKeys).orderBy(desc(apiKeys.createdAt));
}

export async function countApiKeys(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(apiKeys);
  return Number(row?.n ?? 0);
}

async function readKey(db: Db, hash: string): Promise<ApiKeyView | null> {
  const [row] = await db.select(view).from(apiKeys).where(eq(apiKeys.hash, hash)).limit(1);
  return row ?? null;
}

/** The caller a key stands for; UNAUTHENTICATED for a key that is unknown, revoked or expired. */
function callerOf(row: ApiKeyView | null, now: Date): AuthContext {
  if (!row) throw new AuditError('UNAUTHENTICATED', 'This API key is not known.');
  if (row.revokedAt) throw new AuditError('UNAUTHENTICATED', `API key "${row.name}" was revoked.`);
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) throw new AuditError('UNAUTHENTICATED', `API key "${row.name}" has expired.`);
  return {
    authenticated: true,
    scopes: new Set(row.scopes.filter(isScope)),
    userLogin: row.userLogin,
    groups: [],
    credentialId: `key:${row.id}`,
    kind: 'api-key',
    label: row.name,
    expiresAt: row.expiresAt,
  };
}

/**
 * Authenticates API keys without a database round trip per request: known keys are kept by hash (never
 * unknown ones: a key created on another instance must work at once). Expiry is checked on every
 * use. A revocation must take effect at once: the revoking instance forgets the key before it
 * answers, every other instance when the revocation's NOTIFY arrives, and all keys are forgotten
 * whenever notifications may have been missed (the LISTEN connection came back). A read that was
 * under way while a key was forgotten is not kept, since it may predate the revocation. Entries
 * are re-read after `maxAgeMs` anyway, which bounds a change made to api_keys by hand.
 */
export class ApiKeyCache {
  private readonly byHash = new Map<string, { row: ApiKeyView; readAt: number }>();
  /** Bumped by every forget/clear: a read that started before one is used once, not kept. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly maxAgeMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(key: string, now = new Date()): Promise<AuthContext> {
    const hash = hashKey(key);
    const cached = this.byHash.get(hash);
    if (cached && now.getTime() - cached.readAt < this.maxAgeMs) return callerOf(cached.row, now);
    const generation = this.generation;
    const row = await readKey(this.db, hash);
    if (row && generation === this.generation) {
      if (this.byHash.size >= this.maxEntries) this.byHash.clear();
      this.byHash.set(hash, { row, readAt: now.getTime() });
    }
    return callerOf(row, now);
  }

  /** Forgets the key of a credential id (`key:<id>`); other credentials are not cached here. */
  forget(credentialId: string): void {
    this.generation++;
    for (const [hash, { row }] of this.byHash) if (`key:${row.id}` === credentialId) this.byHash.delete(hash);
  }

  clear(): void {
    this.generation++;
    this.byHash.clear();
  }
}
