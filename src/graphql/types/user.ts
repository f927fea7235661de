import { findUser, userActivity, userSessions, type SessionView, type UserView } from '../../history/users.js';
import { builder } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { EventConnection, EventSource, page } from './event.js';

const SessionProcess = builder.enumType('SessionProcess', { values: ['CLIENT', 'SERVER'] as const });
const SessionEndReason = builder.enumType('SessionEndReason', { values: ['LOGOUT', 'TIMEOUT'] as const });

export const Session = builder.objectRef<SessionView & { login?: string }>('Session').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    endReason: t.field({ type: SessionEndReason, nullable: true, resolve: (s) => s.endReason as 'LOGOUT' | 'TIMEOUT' | null }),
    ipAddress: t.exposeString('ipAddress', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    process: t.field({ type: SessionProcess, resolve: (s) => s.process as 'CLIENT' | 'SERVER' }),
  }),
});

const SessionConnection = connectionOf('Session', Session);

export const User = builder.objectRef<UserView>('User').implement({
  fields: (t) => ({
    login: t.exposeString('login'),
    displayName: t.exposeString('displayName', { nullable: true }),
    roles: t.exposeStringList('roles'),
    disabled: t.exposeBoolean('disabled'),
    firstSeenAt: t.expose('createdAt', { type: 'DateTime' }),
    activity: t.field({
      type: EventConnection,
      description: 'The user’s events in the last `days` days, newest first.',
      args: { days: t.arg.int({ defaultValue: 7 }), ...pageArgs(t.arg) },
      resolve: (user, args, ctx) => userActivity(ctx.services.db, user.login, args.days ?? 7, page(ctx, args)),
    }),
    sessions: t.field({
      type: SessionConnection,
      description: 'Newest first.',
      args: pageArgs(t.arg, 20),
      resolve: (user, args, ctx) => userSessions(ctx.services.db, user.id, page(ctx, args)),
    }),
  }),
});

const StartSessionInput = builder.inputType('StartSessionInput', {
  fields: (t) => ({
    user: t.string({ required: true, description: 'Login; the user is created on first sight.' }),
    ipAddress: t.string({ required: false }),
    userAgent: t.string({ required: false }),
    process: t.field({ type: SessionProcess, required: false, description: 'CLIENT when left out.' }),
    source: t.field({ type: EventSource, required: false }),
  }),
});

builder.queryFields((t) => ({
  user: t.field({
    type: User,
    nullable: true,
    description: 'A user; a user-bound credential may read its own user without audit:read.',
    authScopes: (_root, args) => ({ read: true, self: args.login }),
    args: { login: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => findUser(ctx.services.db, ctx.services.auth.readable(ctx.auth, { user: args.login }, 'Query.user').user!),
  }),
}));

builder.mutationFields((t) => ({
  startSession: t.field({
    type: Session,
    description: 'Starts a user session (and records a `login` event in it).',
    authScopes: { write: true },
    args: { input: t.arg({ type: StartSessionInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.sessions.start(args.input),
  }),
  endSession: t.field({
    type: Session,
    description: 'Ends a session (and records a `logout` or `session-timeout` event in it).',
    authScopes: { write: true },
    args: { id: t.arg.id({ required: true }), reason: t.arg({ type: SessionEndReason, defaultValue: 'LOGOUT' }) },
    resolve: (_root, args, ctx) => ctx.services.sessions.end(String(args.id), args.reason ?? 'LOGOUT'),
  }),
}));
