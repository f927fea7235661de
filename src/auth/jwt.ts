import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuditError } from '../errors.js';
import { isScope, type AuthContext } from './credentials.js';

export interface JwtConfig {
  /** HMAC secret (HS256/384/512). */
  secret?: string | undefined;
  /** A JWKS URL (RS*, ES*, EdDSA), fetched and cached by jose. */
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export type JwtVerifier = (token: string) => Promise<AuthContext>;

/**
 * Checks JWTs with jose (signature, `exp`/`nbf`, and issuer and audience when configured). `sub` is
 * the user the token is bound to, `scope` (space-separated or a list) holds `audit:*` scopes and
 * `groups` the user's groups. Null when no JWT source is configured.
 */
export function jwtVerifier(config: JwtConfig): JwtVerifier | null {
  let key: Uint8Array | JWTVerifyGetKey;
  if (config.jwksUrl) key = createRemoteJWKSet(new URL(config.jwksUrl));
  else if (config.secret) key = new TextEncoder().encode(config.secret);
  else return null;
  const options = {
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
    ...(config.jwksUrl ? {} : { algorithms: ['HS256', 'HS384', 'HS512'] }),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, options));
    } catch (error) {
      const reason = error instanceof errors.JWTExpired ? 'has expired' : error instanceof errors.JOSEError ? `is not valid (${error.code})` : 'could not be checked';
      throw new AuditError('UNAUTHENTICATED', `The JWT ${reason}.`);
    }
    return claimsToAuth(payload);
  };
}

export function claimsToAuth(payload: JWTPayload): AuthContext {
  const rawScope = payload.scope ?? payload.scp;
  const scopes = (typeof rawScope === 'string' ? rawScope.split(/\s+/) : Array.isArray(rawScope) ? rawScope : []).filter(
    (s): s is string => typeof s === 'string',
  );
  const groups = Array.isArray(payload.groups) ? payload.groups.filter((g): g is string => typeof g === 'string') : [];
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
  return {
    authenticated: true,
    scopes: new Set(scopes.filter(isScope)),
    userLogin: sub,
    groups,
    credentialId: `jwt:${sub ?? payload.jti ?? 'anonymous'}`,
    kind: 'jwt',
    label: sub,
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
  };
}
