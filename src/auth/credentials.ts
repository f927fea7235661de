export type Scope = 'audit:read' | 'audit:write' | 'audit:admin';
export const SCOPES: readonly Scope[] = ['audit:read', 'audit:write', 'audit:admin'];

/** Who is calling and what they may do. */
export interface AuthContext {
  /** False when the request carried no credential. */
  authenticated: boolean;
  scopes: ReadonlySet<Scope>;
  /** The user a credential is bound to, if any: it may read that user's own activity. */
  userLogin: string | null;
  /** Groups named by a JWT's `groups` claim. */
  groups: readonly string[];
  /** `key:<id>` or `jwt:<sub>`: what rate limits and socket tracking are keyed by; null when anonymous. */
  credentialId: string | null;
  kind: 'api-key' | 'jwt' | 'viewer' | null;
  /** A viewer token: may read only this entity's or this group's activity. */
  viewer?: ViewerGrant | null;
  /** A key's name or a JWT's subject, for audit events about the caller. */
  label: string | null;
  /** When the credential stops working: its WebSockets are closed then (see AuthService.trackSocket). */
  expiresAt?: Date | null;
}

export type ViewerGrant = { entity: { type: string; id: string }; group?: undefined } | { group: string; entity?: undefined };

export const ANONYMOUS: AuthContext = Object.freeze({
  authenticated: false,
  scopes: new Set<Scope>(),
  userLogin: null,
  groups: [],
  credentialId: null,
  kind: null,
  label: null,
});

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/**
 * The bearer token of a request: the `Authorization` header over HTTP; over graphql-ws the
 * connection parameters `{ "Authorization": "Bearer …" }` (what GraphiQL sends from its headers
 * tab), `{ headers: { Authorization } }` or `{ token }`.
 */
export function bearerToken(headers: Headers | undefined, connectionParams: Record<string, unknown> | undefined): string | null {
  const fromHeader = headers?.get('authorization');
  if (fromHeader) return stripBearer(fromHeader);
  if (!connectionParams) return null;
  const nested = connectionParams.headers as Record<string, unknown> | undefined;
  for (const value of [connectionParams.Authorization, connectionParams.authorization, nested?.Authorization, nested?.authorization, connectionParams.token]) {
    if (typeof value === 'string' && value.trim() !== '') return stripBearer(value);
  }
  return null;
}

function stripBearer(value: string): string | null {
  const token = value.trim().replace(/^bearer\s+/i, '').trim();
  return token === '' ? null : token;
}

/** A compact JWS: three base64url parts. Anything else is taken for an API key. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}
