import type { AuditEvent } from '../audit/model.js';
import { AuditError } from '../errors.js';
import type { EventFilter } from '../history/events.js';
import type { AuthContext } from './credentials.js';

/** audit:admin includes reading and writing: an administrator could mint such a key anyway. */
export function canRead(auth: AuthContext): boolean {
  return auth.scopes.has('audit:read') || auth.scopes.has('audit:admin');
}

export function canWrite(auth: AuthContext): boolean {
  return auth.scopes.has('audit:write') || auth.scopes.has('audit:admin');
}

/**
 * The filter a caller may run: everything with audit:read; a credential bound to a user without
 * it sees only that user's own events (asking for another user's is FORBIDDEN).
 */
export function readableFilter(auth: AuthContext, filter: EventFilter): EventFilter {
  if (canRead(auth)) return filter;
  if (auth.viewer?.entity) {
    const own = auth.viewer.entity;
    if (filter.entity && (filter.entity.type !== own.type || filter.entity.id !== own.id)) {
      throw new AuditError('FORBIDDEN', `This viewer token may read only ${own.type} ${own.id}.`, { field: 'filter.entity' });
    }
    return { ...filter, entity: own };
  }
  if (auth.viewer?.group) {
    if (filter.group && filter.group !== auth.viewer.group) {
      throw new AuditError('FORBIDDEN', `This viewer token may read only group ${auth.viewer.group}.`, { field: 'filter.group' });
    }
    return { ...filter, group: auth.viewer.group };
  }
  const self = auth.userLogin;
  if (!self) throw new AuditError(auth.authenticated ? 'FORBIDDEN' : 'UNAUTHENTICATED', auth.authenticated ? 'Your credential does not allow this.' : 'A credential is required.');
  if (filter.user && filter.user !== self) {
    throw new AuditError('FORBIDDEN', `This credential may read only the activity of "${self}".`, { field: 'filter.user' });
  }
  return { ...filter, user: self };
}

/**
 * Callers with equal keys may read exactly the same events (the same scopes, bound user, groups and
 * viewer grant), so that one live feed can serve all of them. The credential itself is left out.
 */
export function visibilityKey(auth: AuthContext): string {
  return JSON.stringify([auth.authenticated, [...auth.scopes].sort(), auth.userLogin, [...auth.groups].sort(), auth.viewer ?? null]);
}

/** An event the caller may see, or null (a user-bound credential sees only its user's events). */
export function visibleEvent(auth: AuthContext, event: AuditEvent | null): AuditEvent | null {
  if (!event || canRead(auth)) return event;
  const entity = auth.viewer?.entity;
  if (entity) return event.parameters.some((p) => p.entity?.type === entity.type && p.entity.externalId === entity.id) ? event : null;
  return auth.userLogin !== null && event.userLogin === auth.userLogin ? event : null;
}

/**
 * Whether reading with this filter is looking at someone else's activity, which leaves an
 * `audit-log-viewed` event: any read with a viewer token, or a person (a user-bound credential)
 * reading another user's events.
 */
export function viewOfOthers(auth: AuthContext, filter: EventFilter): Record<string, unknown> | null {
  if (auth.viewer) return { viewer: auth.label, entity: auth.viewer.entity ? `${auth.viewer.entity.type}/${auth.viewer.entity.id}` : null, group: auth.viewer.group ?? null };
  if (auth.userLogin !== null && filter.user && filter.user !== auth.userLogin) return { viewedUser: filter.user };
  return null;
}
