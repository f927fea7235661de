import {
  ERROR_GROUP_STATUSES,
  errorGroupDays,
  findErrorGroups,
  mergeErrorGroups,
  precedingActions,
  RULE_FIELDS,
  setErrorGroupStatus,
  type ErrorGroupView,
  type FingerprintRule,
  type PrecedingAction,
} from '../../history/error-groups.js';
import { builder } from '../builder.js';
import { connectionOf, pageArgs } from './connection.js';
import { CountByRef } from './entity.js';
import { Event, EventFilterInput, page, toEventFilter } from './event.js';

export const ErrorGroupStatus = builder.enumType('ErrorGroupStatus', {
  description: 'Triage state: REGRESSED is set by the service when a RESOLVED group occurs again.',
  values: ERROR_GROUP_STATUSES,
});
const SettableErrorGroupStatus = builder.enumType('SettableErrorGroupStatus', { values: ['OPEN', 'RESOLVED', 'IGNORED'] as const });
const ErrorGroupSort = builder.enumType('ErrorGroupSort', { values: ['COUNT', 'LAST_SEEN'] as const });
const RuleField = builder.enumType('FingerprintRuleField', { values: RULE_FIELDS });

const PrecedingActionRef = builder.objectRef<PrecedingAction>('PrecedingAction').implement({
  description: 'An event type that came just before occurrences of an error, in the same session.',
  fields: (t) => ({
    type: t.exposeString('type'),
    count: t.exposeInt('count', { description: 'Occurrences of the error that this type preceded.' }),
    share: t.exposeFloat('share', { description: 'count ÷ occurrences of the error that belong to a session.' }),
  }),
});

export const ErrorGroup = builder.objectRef<ErrorGroupView>('ErrorGroup').implement({
  description: 'All errors with one fingerprint (plus those merged into it).',
  fields: (t) => ({
    fingerprint: t.exposeString('fingerprint'),
    status: t.field({ type: ErrorGroupStatus, resolve: (g) => g.status }),
    type: t.exposeString('type', { description: 'Event type of the latest occurrence.' }),
    message: t.exposeString('message', { nullable: true, description: 'Message of the latest occurrence.' }),
    stackTrace: t.exposeString('stackTrace', { nullable: true, description: 'Stack trace of the latest occurrence.' }),
    count: t.exposeInt('count'),
    distinctUsers: t.exposeInt('distinctUsers'),
    firstSeen: t.expose('firstSeen', { type: 'DateTime' }),
    lastSeen: t.expose('lastSeen', { type: 'DateTime' }),
    mergedFingerprints: t.exposeStringList('mergedFingerprints'),
    byDay: t.field({
      type: [CountByRef],
      description: 'Occurrences per UTC day (YYYY-MM-DD), oldest first.',
      resolve: (g, _args, ctx) => errorGroupDays(ctx.services.db, g),
    }),
    precedingActions: t.field({
      type: [PrecedingActionRef],
      description: 'The event types most often just before this error in the same session.',
      args: {
        lastEvents: t.arg.int({ defaultValue: 5, description: 'Events looked at before each occurrence (1–100).' }),
        withinMinutes: t.arg.float({ defaultValue: 10, description: 'How far back before each occurrence.' }),
        first: t.arg.int({ defaultValue: 10 }),
      },
      resolve: (g, args, ctx) =>
        precedingActions(ctx.services.db, g, {
          events: args.lastEvents ?? 5,
          minutes: args.withinMinutes ?? 10,
          limit: Math.max(0, Math.min(args.first ?? 10, 100)),
        }),
    }),
  }),
});

const ErrorGroupConnection = connectionOf('ErrorGroup', ErrorGroup);

const FingerprintRuleRef = builder.objectRef<FingerprintRule>('FingerprintRule').implement({
  description: 'Forces every new error whose message or stack trace matches the pattern into one group.',
  fields: (t) => ({
    id: t.exposeID('id'),
    field: t.field({ type: RuleField, resolve: (r) => r.field }),
    pattern: t.exposeString('pattern', { description: 'A regular expression (JavaScript syntax), case-insensitive.' }),
    fingerprint: t.exposeString('fingerprint'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectField(Event, 'errorGroupStatus', (t) =>
  t.field({
    type: ErrorGroupStatus,
    nullable: true,
    description: 'For an error: its group’s status. In the live feeds, the status as the event was stored (REGRESSED when it reopened a resolved group).',
    // Read with the event itself (history/events.ts), or set as it was stored: no query per event.
    resolve: (e) => (e.fingerprint ? ((e.errorGroupStatus ?? 'OPEN') as ErrorGroupView['status']) : null),
  }),
);

builder.queryFields((t) => ({
  errorGroups: t.field({
    type: ErrorGroupConnection,
    description: 'Errors grouped by fingerprint, most frequent (or most recent) first.',
    authScopes: { read: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      statuses: t.arg({ type: [ErrorGroupStatus], required: false }),
      sort: t.arg({ type: ErrorGroupSort, defaultValue: 'COUNT' }),
      ...pageArgs(t.arg, 20),
    },
    resolve: (_root, args, ctx) =>
      findErrorGroups(ctx.services.db, { filter: toEventFilter(args.filter), statuses: args.statuses, sort: args.sort ?? 'COUNT', page: page(ctx, args) }),
  }),
  errorFingerprintRules: t.field({
    type: [FingerprintRuleRef],
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.services.errorTriage.listRules(),
  }),
}));

builder.mutationFields((t) => ({
  setErrorGroupStatus: t.field({
    type: ErrorGroup,
    authScopes: { write: true },
    args: { fingerprint: t.arg.string({ required: true }), status: t.arg({ type: SettableErrorGroupStatus, required: true }) },
    resolve: (_root, args, ctx) => setErrorGroupStatus(ctx.services.db, args.fingerprint, args.status),
  }),
  mergeErrorGroups: t.field({
    type: ErrorGroup,
    description: 'Merges the source group into the target; returns the target.',
    authScopes: { admin: true },
    args: { source: t.arg.string({ required: true }), target: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => mergeErrorGroups(ctx.services.db, args.source, args.target),
  }),
  addErrorFingerprintRule: t.field({
    type: FingerprintRuleRef,
    description: 'Errors stored from now on whose field matches the pattern join the group `fingerprint` (generated when left out).',
    authScopes: { admin: true },
    args: {
      field: t.arg({ type: RuleField, required: true }),
      pattern: t.arg.string({ required: true }),
      fingerprint: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) => ctx.services.errorTriage.addRule(args.field, args.pattern, args.fingerprint),
  }),
  removeErrorFingerprintRule: t.boolean({
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.errorTriage.removeRule(Number(args.id)),
  }),
}));
