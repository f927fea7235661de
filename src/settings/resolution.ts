import type { LoggerSettingView, TypeDecision } from './model.js';
import { ALWAYS_RECORDED_TYPES } from './model.js';

/**
 * The resolution rule, pure and in memory. For a user and an event type:
 *   1. errors and ALWAYS_RECORDED_TYPES (the audit of settings, changesets, suggestions…) are always recorded;
 *   2. the user's own setting decides;
 *   3. otherwise the nearest groups with a setting (fewest steps up from the user through
 *      groups_relations) decide; between several at that distance, one that records the type wins
 *      (so the user gets the union of what they record), then the shorter throttle, then the group name;
 *   4. otherwise the global default; 5. otherwise the built-in default: STANDARD, no throttle.
 */

export interface TypeInfo {
  name: string;
  category: string;
  standard: boolean;
}

/** Everything the rule needs, loaded in one go and swapped whole. */
export interface SettingsSnapshot {
  global: LoggerSettingView | null;
  byLogin: Map<string, LoggerSettingView>;
  /** Settings of groups, by group id. */
  byGroupId: Map<string, LoggerSettingView>;
  /** Group id → the groups it is a direct child of. */
  parentsOf: Map<string, string[]>;
  /** Login → the user's personal group (only users that belong to some group). */
  personalGroupOf: Map<string, string>;
}

export const emptySnapshot = (): SettingsSnapshot => ({
  global: null,
  byLogin: new Map(),
  byGroupId: new Map(),
  parentsOf: new Map(),
  personalGroupOf: new Map(),
});

const alwaysRecorded = new Set<string>(ALWAYS_RECORDED_TYPES);

/** Whether one setting, on its own, records this type. */
export function settingRecords(setting: LoggerSettingView, type: TypeInfo): boolean {
  switch (setting.level) {
    case 'VERBOSE':
      return true;
    case 'OFF':
      return false;
    case 'STANDARD':
      return type.standard;
    case 'CUSTOM':
      // A type named one by one is more specific than its category.
      if (setting.typesOff.includes(type.name)) return false;
      if (setting.typesOn.includes(type.name)) return true;
      if (setting.categoriesOff.includes(type.category)) return false;
      if (setting.categoriesOn.includes(type.category)) return true;
      return type.standard;
  }
}

/** The settings that may decide for one user: their own, the nearest groups', the global one, or none. */
export interface Candidates {
  source: 'USER' | 'GROUP' | 'GLOBAL' | 'BUILT_IN_DEFAULT';
  settings: LoggerSettingView[];
  distance: number | null;
}

export function candidatesFor(snapshot: SettingsSnapshot, login: string | null): Candidates {
  if (login !== null) {
    const own = snapshot.byLogin.get(login);
    if (own) return { source: 'USER', settings: [own], distance: null };
    const personal = snapshot.personalGroupOf.get(login);
    if (personal && snapshot.byGroupId.size > 0) {
      // Breadth-first up the tree; `seen` stops cycles (refused on write, but never trust a loop).
      const seen = new Set([personal]);
      let frontier = [personal];
      for (let distance = 1; frontier.length > 0; distance++) {
        const next: string[] = [];
        for (const id of frontier) {
          for (const parent of snapshot.parentsOf.get(id) ?? []) {
            if (seen.has(parent)) continue;
            seen.add(parent);
            next.push(parent);
          }
        }
        const found = next.map((id) => snapshot.byGroupId.get(id)).filter((s): s is LoggerSettingView => s !== undefined);
        if (found.length > 0) {
          found.sort((a, b) => groupName(a).localeCompare(groupName(b)));
          return { source: 'GROUP', settings: found, distance };
        }
        frontier = next;
      }
    }
  }
  if (snapshot.global) return { source: 'GLOBAL', settings: [snapshot.global], distance: null };
  return { source: 'BUILT_IN_DEFAULT', settings: [], distance: null };
}

const groupName = (s: LoggerSettingView) => (s.target.kind === 'GROUP' ? s.target.name : '');

export function decideType(candidates: Candidates, type: TypeInfo, isError = false): TypeDecision {
  if (isError || alwaysRecorded.has(type.name)) {
    return { recorded: true, throttleSeconds: 0, source: 'ALWAYS_RECORDED', setting: null, distance: null };
  }
  if (candidates.settings.length === 0) {
    return { recorded: type.standard, throttleSeconds: 0, source: 'BUILT_IN_DEFAULT', setting: null, distance: null };
  }
  // Candidates come sorted by name; the first recording one with the shortest throttle wins.
  let best: LoggerSettingView | null = null;
  for (const setting of candidates.settings) {
    if (!settingRecords(setting, type)) continue;
    if (!best || setting.throttleSeconds < best.throttleSeconds) best = setting;
  }
  const setting = best ?? candidates.settings[0]!;
  return {
    recorded: best !== null,
    throttleSeconds: best ? best.throttleSeconds : 0,
    source: candidates.source,
    setting,
    distance: candidates.distance,
  };
}
