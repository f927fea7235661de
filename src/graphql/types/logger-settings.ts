import { AuditError } from '../../errors.js';
import { LOGGER_LEVELS, type LoggerSettingView, type SettingTarget } from '../../settings/model.js';
import type { EffectiveTypeSetting } from '../../settings/service.js';
import { builder } from '../builder.js';

const LoggerLevel = builder.enumType('LoggerLevel', {
  description: 'STANDARD: the types marked standard. VERBOSE: every type. CUSTOM: Standard plus the types switched on, minus those switched off. OFF: nothing but errors.',
  values: LOGGER_LEVELS,
});

const SettingTargetKind = builder.enumType('LoggerSettingTargetKind', { values: ['GLOBAL', 'USER', 'GROUP'] as const });

const DecisionSource = builder.enumType('LoggerDecisionSource', {
  description:
    'USER: the user’s own setting. GROUP: the nearest group with a setting. GLOBAL: the global default. BUILT_IN_DEFAULT: no setting applies (Standard). ALWAYS_RECORDED: errors and settings changes.',
  values: ['USER', 'GROUP', 'GLOBAL', 'BUILT_IN_DEFAULT', 'ALWAYS_RECORDED'] as const,
});

const LoggerSetting = builder.objectRef<LoggerSettingView>('LoggerSetting').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    target: t.field({ type: SettingTargetKind, resolve: (s) => s.target.kind }),
    user: t.string({ nullable: true, resolve: (s) => (s.target.kind === 'USER' ? s.target.login : null) }),
    group: t.string({ nullable: true, resolve: (s) => (s.target.kind === 'GROUP' ? s.target.name : null) }),
    level: t.field({ type: LoggerLevel, resolve: (s) => s.level }),
    typesOn: t.exposeStringList('typesOn'),
    typesOff: t.exposeStringList('typesOff'),
    categoriesOn: t.exposeStringList('categoriesOn'),
    categoriesOff: t.exposeStringList('categoriesOff'),
    throttleSeconds: t.exposeInt('throttleSeconds', { description: 'The same type from the same session inside this interval is recorded once; 0: no throttle.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const EffectiveTypeSettingRef = builder.objectRef<EffectiveTypeSetting>('EffectiveTypeSetting').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    category: t.exposeString('category'),
    recorded: t.exposeBoolean('recorded'),
    throttleSeconds: t.exposeInt('throttleSeconds'),
    source: t.field({ type: DecisionSource, resolve: (e) => e.source }),
    decidedBy: t.field({ type: LoggerSetting, nullable: true, description: 'The setting that decided; null for the built-in default and ALWAYS_RECORDED.', resolve: (e) => e.setting }),
    distance: t.exposeInt('distance', { nullable: true, description: 'For a group setting: 1 when the user is a direct member, 2 through one child group, …' }),
  }),
});

const LoggerSettingTargetInput = builder.inputType('LoggerSettingTargetInput', {
  description: 'A user or a group; neither means the global default.',
  fields: (t) => ({ user: t.string({ required: false }), group: t.string({ required: false }) }),
});

const LoggerSettingsInput = builder.inputType('LoggerSettingsInput', {
  fields: (t) => ({
    level: t.field({ type: LoggerLevel, required: true }),
    typesOn: t.stringList({ required: false, description: 'CUSTOM: event types recorded on top of Standard.' }),
    typesOff: t.stringList({ required: false, description: 'CUSTOM: event types not recorded. A type named here wins over its category.' }),
    categoriesOn: t.stringList({ required: false, description: 'CUSTOM: every type of these categories is recorded.' }),
    categoriesOff: t.stringList({ required: false, description: 'CUSTOM: no type of these categories is recorded.' }),
    throttleSeconds: t.int({ required: false, description: '0 (no throttle) when left out.' }),
  }),
});

function toTarget(input: { user?: string | null; group?: string | null } | null | undefined): SettingTarget {
  if (input?.user && input.group) throw new AuditError('BAD_USER_INPUT', 'target names a user or a group, not both', { field: 'target' });
  if (input?.user) return { kind: 'USER', login: input.user };
  if (input?.group) return { kind: 'GROUP', name: input.group };
  return { kind: 'GLOBAL' };
}

builder.queryFields((t) => ({
  loggerSettings: t.field({
    type: [LoggerSetting],
    description: 'Every setting: the global default first, then groups by name, then users by login.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.services.settings.listLoggerSettings(),
  }),
  effectiveLoggerSettings: t.field({
    type: [EffectiveTypeSettingRef],
    description: 'For every event type: whether events of this user are recorded, and which setting decided it.',
    authScopes: { read: true },
    args: { user: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.settings.effectiveLoggerSettings(args.user),
  }),
}));

builder.mutationFields((t) => ({
  setLoggerSettings: t.field({
    type: LoggerSetting,
    description: 'Creates or replaces the setting of a user, a group, or (no target) the global default.',
    authScopes: { admin: true },
    args: { target: t.arg({ type: LoggerSettingTargetInput, required: false }), settings: t.arg({ type: LoggerSettingsInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.services.settings.setLoggerSettings(toTarget(args.target), args.settings, ctx.auth.userLogin),
  }),
  removeLoggerSettings: t.field({
    type: LoggerSetting,
    nullable: true,
    description: 'Removes a setting, so the next rule applies again; answers the removed setting, or null when there was none.',
    authScopes: { admin: true },
    args: { target: t.arg({ type: LoggerSettingTargetInput, required: false }) },
    resolve: (_root, args, ctx) => ctx.services.settings.removeLoggerSettings(toTarget(args.target), ctx.auth.userLogin),
  }),
}));
