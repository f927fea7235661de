import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { AuditError } from '../errors.js';
import type { AuthContext, ViewerGrant } from './credentials.js';

/** The JWS `typ` that tells a viewer token from a user's JWT. */
const VIEWER_TYP = 'audit-viewer+jwt';
const MAX_TTL_SECONDS = 24 * 3600;

/**
 * Short-lived tokens that read one entity's or one group's activity, for a frontend to embed. They
 * are HS256 JWTs under the server's viewer secret (AUDIT_VIEWER_TOKEN_SECRET; without it a random
 * one per process, so tokens end with a restart and work only on the instance that made them).
 */
export class ViewerTokens {
  private readonly key: Uint8Array;

  constructor(secret: string | undefined) {
    this.key = secret ? new TextEncoder().encode(secret) : randomBytes(32);
  }

  static isViewerToken(token: string): boolean {
    try {
      return decodeProtectedHeader(token).typ === VIEWER_TYP;
    } catch {
      return false;
    }
  }

  async create(grant: { entity?: { type: string; id: string } | null; group?: string | null }, ttlSeconds: number, by: AuthContext) {
    if (!grant.entity === !grant.group) throw new AuditError('BAD_USER_INPUT', 'give exactly one of entity and group', { field: 'entity' });
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new AuditError('BAD_USER_INPUT', `ttlSeconds must be 1 to ${MAX_TTL_SECONDS}`, { field: 'ttlSeconds' });
    }
    const expiresAt = new Date(Math.floor(Date.now() / 1000 + ttlSeconds) * 1000);
    const claims = grant.entity ? { ent: { type: grant.entity.type, id: grant.entity.id } } : { grp: grant.group };
    const token = await new SignJWT({ ...claims, by: by.label })
      .setProtectedHeader({ alg: 'HS256', typ: VIEWER_TYP })
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .setJti(randomBytes(9).toString('base64url'))
      .sign(this.key);
    return { token, expiresAt };
  }

  async verify(token: string): Promise<AuthContext> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], typ: VIEWER_TYP }));
    } catch {
      throw new AuditError('UNAUTHENTICATED', 'This viewer token is not valid or has expired.');
    }
    const ent = payload.ent as { type?: unknown; id?: unknown } | undefined;
    const viewer: ViewerGrant | null =
      ent && typeof ent.type === 'string' && typeof ent.id === 'string'
        ? { entity: { type: ent.type, id: ent.id } }
        : typeof payload.grp === 'string'
          ? { group: payload.grp }
          : null;
    if (!viewer) throw new AuditError('UNAUTHENTICATED', 'This viewer token grants nothing.');
    return {
      authenticated: true,
      scopes: new Set(),
      userLogin: null,
      groups: [],
      credentialId: `viewer:${payload.jti ?? 'unknown'}`,
      kind: 'viewer',
      label: viewer.entity ? `viewer of ${viewer.entity.type} ${viewer.entity.id}` : `viewer of group ${viewer.group}`,
      viewer,
      expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
    };
  }
}
