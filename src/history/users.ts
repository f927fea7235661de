import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { AuditEvent } from '../audit/model.js';
import { users, usersSessions } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { isUuid } from '../audit/validate.js';
import { decodeCursor, encodeCursor, findEvents, sinceDaysAgo, type Connection, type PageArgs } from './events.js';

export type UserView = Pick<typeof users.$inferSelect, 'id' | 'login' | 'displayName' | 'roles' | 'disabled' | 'createdAt'>;
export type SessionView = typeof usersSessions.$inferSelect;

export async function findUser(db: Db, login: string): Promise<UserView | null> {
  const [row] = await db
    .select({ id: users.id, login: users.login, displayName: users.displayName, roles: users.roles, disabled: users.disabled, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.login, login))
    .limit(1);
  return row ?? null;
}

/** The user's events in the last `days` days (1 to 3660), newest first. */
export function userActivity(db: Db, login: string, days: number, page: PageArgs): Promise<Connection<AuditEvent>> {
  return findEvents(db, { user: login, since: sinceDaysAgo(days) }, page);
}

/** A user's sessions, newest first. */
export async function userSessions(db: Db, userId: string, page: PageArgs): Promise<Connection<SessionView>> {
  const after = page.after ? decodeCursor(page.after) : null;
  if (after && !isUuid(after.id)) throw new AuditError('INVALID_CURSOR', 'the cursor does not point at a session');
  const rows = await db
    .select()
    .from(usersSessions)
    .where(
      and(
        eq(usersSessions.userId, userId),
        after ? sql`(${usersSessions.startedAt}, ${usersSessions.id}) < (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(usersSessions.startedAt), desc(usersSessions.id))
    .limit(page.first + 1);
  const edges = rows.slice(0, page.first).map((node) => ({ cursor: encodeCursor(node.startedAt, node.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}
