import { createApiKey, countApiKeys, hashKey } from './api-keys.js';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import { SCOPES } from './credentials.js';

export interface BootstrapOptions {
  host: string;
  /** AUDIT_BOOTSTRAP_ADMIN_KEY: the administrator key to make sure of, for automation. */
  adminKey?: string | undefined;
  jwtConfigured: boolean;
}

export class RefuseToStart extends Error {}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * First start: makes sure an administrator can get in. AUDIT_BOOTSTRAP_ADMIN_KEY is stored (its
 * hash) if it is not yet; otherwise, with no keys at all on a loopback address, a new
 * administrator key is created and returned to be printed once. A server on any other address
 * with no credential configured refuses to start rather than print a key into a server's logs.
 */
export async function bootstrapCredentials(db: Db, options: BootstrapOptions): Promise<{ createdKey: string | null }> {
  if (options.adminKey) {
    await db
      .insert(apiKeys)
      .values({ name: 'bootstrap administrator (AUDIT_BOOTSTRAP_ADMIN_KEY)', prefix: options.adminKey.slice(0, 6), hash: hashKey(options.adminKey), scopes: [...SCOPES] })
      .onConflictDoNothing({ target: apiKeys.hash });
    return { createdKey: null };
  }
  if ((await countApiKeys(db)) > 0) return { createdKey: null };
  if (!isLoopback(options.host)) {
    if (options.jwtConfigured) return { createdKey: null };
    throw new RefuseToStart(
      `Refusing to start on ${options.host} with no credentials: set AUDIT_BOOTSTRAP_ADMIN_KEY (an administrator API key) ` +
        'or AUDIT_JWT_SECRET / AUDIT_JWKS_URL, or listen on 127.0.0.1.',
    );
  }
  const { key } = await createApiKey(db, { name: 'bootstrap administrator', scopes: [...SCOPES] });
  return { createdKey: key };
}

/** What the server prints once, when it created the first administrator key. */
export function bootstrapBanner(key: string, url: string): string {
  return [
    '',
    '  No API keys existed, so an administrator key was created. It is shown only this once:',
    '',
    `      ${key}`,
    '',
    `  In GraphiQL (${url}) open "Headers" and paste:`,
    '',
    `      {"Authorization": "Bearer ${key}"}`,
    '',
    '  From a program: the HTTP header "Authorization: Bearer <key>"; over graphql-ws the connection',
    '  parameters {"Authorization": "Bearer <key>"}. Create narrower keys with the createApiKey mutation.',
    '',
  ].join('\n');
}
