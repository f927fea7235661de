import { and, eq, isNull, sql } from 'drizzle-orm';
import { isIP } from 'node:net';
import type { Db } from '../db/client.js';
import { users, usersSessions } from '../db/schema.js';
import { AuditError } from '../errors.js';
import type { SessionView } from '../history/users.js';
import type { Ingestor } from './ingest.js';
import type { EventSource } from './model.js';
import { isUuid } from './validate.js';

export interface StartSessionInput {
  user: string;
  ipAddress?: string | null | undefined;
  userAgent?: string | null | undefined;
  process?: 'CLIENT' | 'SERVER' | null | undefined;
  source?: EventSource | null | undefined;
}

export type SessionEndReason = 'LOGOUT' | 'TIMEOUT';

/**
 * User sessions. Starting and ending one is itself audited: a `login` event, then a `logout` or
 * `session-timeout` event, each in the session.
 */
export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly ingestor: Ingestor,
  ) {}

  async start(input: StartSessionInput): Promise<SessionView> {
    const login = input.user.trim();
    if (!login || login.length > 200) throw new AuditError('BAD_USER_INPUT', 'user must be 1 to 200 characters', { field: 'user' });
    if (input.ipAddress && isIP(input.ipAddress) === 0) {
      throw new AuditError('BAD_USER_INPUT', `ipAddress "${input.ipAddress.slice(0, 100)}" is not an IPv4 or IPv6 address`, { field: 'ipAddress' });
    }
    if (input.userAgent && input.userAgent.length > 1000) {
      throw new AuditError('VALUE_TOO_LONG', 'userAgent is longer than 1000 characters', { field: 'userAgent' });
    }
    const session = await this.db.transaction(async (tx) => {
      await tx.insert(users).values({ login }).onConflictDoNothing({ target: users.login });
      const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.login, login));
      const [row] = await tx
        .insert(usersSessions)
        .values({ userId: user!.id, ipAddress: input.ipAddress ?? null, userAgent: input.userAgent ?? null, process: input.process ?? 'CLIENT' })
        .returning();
      return row!;
    });
    await this.ingestor.log({
      type: 'login',
      message: `${login} started a session`,
      sessionId: session.id,
      source: input.source ?? (session.process === 'SERVER' ? 'SERVER' : 'CLIENT'),
      occurredAt: session.startedAt,
      parameters: { ipAddress: session.ipAddress, userAgent: session.userAgent },
    });
    return session;
  }

  async end(id: string, reason: SessionEndReason): Promise<SessionView> {
    if (!isUuid(id)) throw new AuditError('UNKNOWN_SESSION', `no session ${id.slice(0, 100)}`, { field: 'id' });
    const [ended] = await this.db
      .update(usersSessions)
      .set({ endedAt: sql`now()`, endReason: reason })
      .where(and(eq(usersSessions.id, id), isNull(usersSessions.endedAt)))
      .returning();
    if (!ended) {
      const [existing] = await this.db.select().from(usersSessions).where(eq(usersSessions.id, id));
      if (!existing) throw new AuditError('UNKNOWN_SESSION', `no session ${id}`, { field: 'id' });
      throw new AuditError('SESSION_ALREADY_ENDED', `session ${id} ended at ${existing.endedAt?.toISOString()} (${existing.endReason})`, { field: 'id' });
    }
    await this.ingestor.log({
      type: reason === 'LOGOUT' ? 'logout' : 'session-timeout',
      message: reason === 'LOGOUT' ? 'Session ended by logout' : 'Session timed out',
      sessionId: ended.id,
      source: ended.process === 'SERVER' ? 'SERVER' : 'CLIENT',
      occurredAt: ended.endedAt,
    });
    return ended;
  }
}
