import { sql } from 'drizzle-orm';
import type { EventTypeRegistry } from '../audit/event-types.js';
import type { Ingestor } from '../audit/ingest.js';
import type { LogInput } from '../audit/model.js';
import type { Database } from '../db/client.js';
import type { UserView } from '../history/users.js';
import * as groups from './groups.js';
import { deleteLoggerSettings, listLoggerSettings, normaliseSettings, upsertLoggerSettings } from './logger-settings.js';
import {
  SETTINGS_CHANNEL,
  targetLabel,
  type GroupView,
  type LoggerSettingsInput,
  type LoggerSettingView,
  type SettingTarget,
  type TypeDecision,
} from './model.js';
import type { RecordingPolicy } from './policy.js';

export interface EffectiveTypeSetting extends TypeDecision {
  type: string;
  category: string;
}

interface Deps {
  database: Database;
  types: EventTypeRegistry;
  ingestor: Ingestor;
  policy: RecordingPolicy;
}

/**
 * Groups and logger settings: every change commits, tells every instance to reload (NOTIFY), waits
 * for this instance's reload, and is recorded as an audit event with the state before and after.
 */
export class SettingsService {
  constructor(private readonly deps: Deps) {}

  listGroups = () => groups.listGroups(this.deps.database.db);
  findGroup = (name: string) => groups.findGroup(this.deps.database.db, name);
  directUsers = (group: GroupView): Promise<UserView[]> => groups.directUsers(this.deps.database.db, group.id);
  childGroups = (group: GroupView) => groups.childGroups(this.deps.database.db, group.id);
  allUsers = (group: GroupView): Promise<UserView[]> => groups.allUsers(this.deps.database.db, group.name);
  listLoggerSettings = () => listLoggerSettings(this.deps.database.db);

  async upsertGroup(name: string, description: string | null, actor: string | null): Promise<GroupView> {
    const { before, after } = await groups.upsertGroup(this.deps.database.db, name, description);
    await this.changed({
      type: before ? 'group-updated' : 'group-created',
      message: before ? `Group ${after.name} updated` : `Group ${after.name} created`,
      user: actor,
      parameters: { group: { type: 'group', id: after.name }, before: before && { description: before.description }, after: { description: after.description } },
    });
    return after;
  }

  async setGroupMembers(name: string, users: string[], childGroups: string[], actor: string | null): Promise<GroupView> {
    const { group, before, after } = await groups.setGroupMembers(this.deps.database.db, name, users, childGroups);
    await this.changed({
      type: 'group-members-changed',
      message: `Members of group ${group.name} set to ${after.users.length} users and ${after.groups.length} groups`,
      user: actor,
      parameters: { group: { type: 'group', id: group.name }, before, after },
    });
    return group;
  }

  async setLoggerSettings(target: SettingTarget, input: LoggerSettingsInput, actor: string | null): Promise<LoggerSettingView> {
    const categories = new Set((await this.deps.types.reload()).map((t) => t.category));
    const { before, after } = await upsertLoggerSettings(this.deps.database.db, target, normaliseSettings(input, categories));
    await this.changed(settingsEvent(target, before, after, actor));
    return after;
  }

  /** Removes a target's setting; null when it had none (nothing changes then). */
  async removeLoggerSettings(target: SettingTarget, actor: string | null): Promise<LoggerSettingView | null> {
    const removed = await deleteLoggerSettings(this.deps.database.db, target);
    if (removed) await this.changed(settingsEvent(target, removed, null, actor));
    return removed;
  }

  /** For every event type: whether the user's events of that type are recorded, and what decided it. */
  async effectiveLoggerSettings(login: string): Promise<EffectiveTypeSetting[]> {
    const types = await this.deps.types.reload();
    return types.map((type) => ({
      type: type.name,
      category: type.category,
      ...this.deps.policy.decision(login, type, type.isError),
    }));
  }

  private async changed(event: LogInput): Promise<void> {
    const { database, policy, ingestor } = this.deps;
    await database.db.execute(sql`select pg_notify(${SETTINGS_CHANNEL}, ${policy.instanceId})`);
    await policy.reload();
    await ingestor.log({ source: 'API', ...event });
  }
}

function settingsEvent(target: SettingTarget, before: LoggerSettingView | null, after: LoggerSettingView | null, actor: string | null): LogInput {
  const label = targetLabel(target);
  const entity = target.kind === 'USER' ? { type: 'user', id: target.login } : target.kind === 'GROUP' ? { type: 'group', id: target.name } : null;
  const plain = (s: LoggerSettingView | null) => s && { level: s.level, typesOn: s.typesOn, typesOff: s.typesOff, categoriesOn: s.categoriesOn, categoriesOff: s.categoriesOff, throttleSeconds: s.throttleSeconds };
  return {
    type: 'logger-settings-changed',
    message: after ? `Logger settings of ${label} set to ${after.level}` : `Logger settings of ${label} removed`,
    user: actor,
    parameters: { target: entity ?? label, before: plain(before), after: plain(after) },
  };
}
