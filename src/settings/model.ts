/** The shapes of the settings domain; GraphQL types mirror these. */

export const LOGGER_LEVELS = ['STANDARD', 'VERBOSE', 'CUSTOM', 'OFF'] as const;
export type LoggerLevel = (typeof LOGGER_LEVELS)[number];

/** Whom a setting applies to: everyone without a setting of their own (GLOBAL), a user or a group. */
export type SettingTarget = { kind: 'GLOBAL' } | { kind: 'USER'; login: string } | { kind: 'GROUP'; name: string };

export interface LoggerSettingsInput {
  level: LoggerLevel;
  typesOn?: string[] | null | undefined;
  typesOff?: string[] | null | undefined;
  categoriesOn?: string[] | null | undefined;
  categoriesOff?: string[] | null | undefined;
  throttleSeconds?: number | null | undefined;
}

export interface LoggerSettingView {
  id: string;
  target: SettingTarget;
  level: LoggerLevel;
  typesOn: string[];
  typesOff: string[];
  categoriesOn: string[];
  categoriesOff: string[];
  throttleSeconds: number;
  updatedAt: Date;
}

export interface GroupView {
  id: string;
  name: string;
  description: string | null;
  createdAt: Date;
}

/** Where an effective decision came from. */
export type DecisionSource = 'USER' | 'GROUP' | 'GLOBAL' | 'BUILT_IN_DEFAULT' | 'ALWAYS_RECORDED';

export interface TypeDecision {
  recorded: boolean;
  throttleSeconds: number;
  source: DecisionSource;
  /** The setting that decided; null for the built-in default and for types always recorded. */
  setting: LoggerSettingView | null;
  /** For a group setting: how many group steps separate the user from that group (1: a direct member). */
  distance: number | null;
}

/** NOTIFY channel: a settings or group change committed; every instance reloads its cache. */
export const SETTINGS_CHANNEL = 'audit_logger_settings';

/** Built-in types recording changes to settings and groups: recorded whatever the settings say. */
/**
 * Types that logger settings never switch off: the audit of settings and groups themselves, the
 * service's own records (retention, reads of the log, credentials), and changesets and suggestion
 * steps, which entity state and the suggestion workflow are rebuilt from.
 */
export const ALWAYS_RECORDED_TYPES = [
  'logger-settings-changed',
  'group-created',
  'group-updated',
  'group-members-changed',
  'retention-policy-changed',
  'retention-month-dropped',
  'audit-log-viewed',
  'resource.create',
  'resource.update',
  'resource.delete',
  'changeset.applied',
  'suggestion.create',
  'suggestion.approve',
  'suggestion.reject',
  'suggestion.cancel',
] as const;

export function targetLabel(target: SettingTarget): string {
  return target.kind === 'GLOBAL' ? 'global' : target.kind === 'USER' ? `user:${target.login}` : `group:${target.name}`;
}
