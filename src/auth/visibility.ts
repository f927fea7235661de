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
  const self = auth.userLogin;
  if (!self) throw new AuditError(auth.authenticated ? 'FORBIDDEN' : 'UNAUTHENTICATED', auth.authenticated ? 'Your credential does not allow this.' : 'A credential is required.');
  if (filter.user && filter.user !== self) {
    throw new AuditError('FORBIDDEN', `This credential may read only the activity of "${self}".`, { field: 'filter.user' });
  }
  return { ...filter, user: self };
}

/** An event the caller may see, or null (a user-bound credential sees only its user's events). */
export function visibleEvent(auth: AuthContext, event: AuditEvent | null): AuditEvent | null {
  if (!event || canRead(auth)) return event;
  return auth.userLogin !== null && event.userLogin === auth.userLogin ? event : null;
}
