export type Scope = 'audit:read' | 'audit:write' | 'audit:admin';

/** Who is calling and what they may do. */
export interface AuthContext {
  /** False when the request carried no credential. */
  authenticated: boolean;
  scopes: ReadonlySet<Scope>;
  /** The user a credential is bound to, if any. */
  userLogin: string | null;
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(['audit:read', 'audit:write', 'audit:admin']);

/**
 * Until credentials exist (API keys and JWTs are their own issue), every caller has every scope.
 * The server therefore listens on loopback by default.
 */
export function authenticate(_headers: Headers | undefined, _connectionParams: Record<string, unknown> | undefined): AuthContext {
  return { authenticated: true, scopes: ALL_SCOPES, userLogin: null };
}
