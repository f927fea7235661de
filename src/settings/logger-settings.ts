import { eq, sql } from 'drizzle-orm';
import { checkTypeName } from '../audit/event-types.js';
import { queryRows, type Db } from '../db/client.js';
import { groups, loggerSettings, users } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { LOGGER_LEVELS, type LoggerLevel, type LoggerSettingsInput, type LoggerSettingView, type SettingTarget } from './model.js';

/** A day: a longer throttle is a setting mistake, not a throttle. */
const MAX_THROTTLE_SECONDS = 86_400;
const MAX_NAMES = 1000;

type Row = typeof loggerSettings.$inferSelect & { login: string | null; groupName: string | null };

function toView(row: Row): LoggerSettingView {
  const target: SettingTarget =
    row.login !== null ? { kind: 'USER', login: row.login } : row.groupName !== null ? { kind: 'GROUP', name: row.groupName } : { kind: 'GLOBAL' };
  return {
    id: row.id,
    target,
    level: row.level as LoggerLevel,
    typesOn: row.typesOn,
    typesOff: row.typesOff,
    categoriesOn: row.categoriesOn,
    categoriesOff: row.categoriesOff,
    throttleSeconds: row.throttleSeconds,
    updatedAt: row.updatedAt,
  };
}

const order = sql`case when ${loggerSettings.targetKey} = 'global' then 0 when ${loggerSettings.groupId} is not null then 1 else 2 end,
  coalesce(${groups.name}, ${users.login})`;

async function selectSettings(db: Db, targetKey?: string): Promise<LoggerSettingView[]> {
  const rows = await db
    .select({ ...columns, login: users.login, groupName: groups.name })
    .from(loggerSettings)
    .leftJoin(users, eq(users.id, loggerSettings.userId))
    .leftJoin(groups, eq(groups.id, loggerSettings.groupId))
    .where(targetKey === undefined ? undefined : eq(loggerSettings.targetKey, targetKey))
    .orderBy(order);
  return rows.map(toView);
}

const columns = {
  id: loggerSettings.id,
  targetKey: loggerSettings.targetKey,
  userId: loggerSettings.userId,
  groupId: loggerSettings.groupId,
  level: loggerSettings.level,
  typesOn: loggerSettings.typesOn,
  typesOff: loggerSettings.typesOff,
  categoriesOn: loggerSettings.categoriesOn,
  categoriesOff: loggerSettings.categoriesOff,
  throttleSeconds: loggerSettings.throttleSeconds,
  updatedAt: loggerSettings.updatedAt,
};

/** Every setting: the global default first, then groups by name, then users by login. */
export function listLoggerSettings(db: Db): Promise<LoggerSettingView[]> {
  return selectSettings(db);
}

/** The row key of a target, creating a user on first sight (`create`); a group must exist. */
async function targetKey(db: Db, target: SettingTarget, create: boolean): Promise<{ key: string; userId: string | null; groupId: string | null } | null> {
  if (target.kind === 'GLOBAL') return { key: 'global', userId: null, groupId: null };
  if (target.kind === 'USER') {
    const login = target.login.trim();
    if (!login || login.length > 200) throw new AuditError('BAD_USER_INPUT', 'user must be 1 to 200 characters', { field: 'target.user' });
    if (create) await db.insert(users).values({ login }).onConflictDoNothing({ target: users.login });
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.login, login));
    if (!user) return null;
    return { key: `user:${user!.id}`, userId: user!.id, groupId: null };
  }
  const [group] = await queryRows<{ id: string }>(db, sql`select id from groups where name = ${target.name} and not personal`);
  if (!group) throw new AuditError('NOT_FOUND', `no group "${target.name.slice(0, 200)}"; create it with upsertGroup`, { field: 'target.group' });
  return { key: `group:${group.id}`, userId: null, groupId: group.id };
}

function names(list: string[] | null | undefined, field: string, level: LoggerLevel): string[] {
  if (!list || list.length === 0) return [];
  if (level !== 'CUSTOM') {
    throw new AuditError('BAD_USER_INPUT', `${field} applies only to level CUSTOM; ${level} decides every type itself`, { field });
  }
  if (list.length > MAX_NAMES) throw new AuditError('BAD_USER_INPUT', `${field} names at most ${MAX_NAMES} entries`, { field });
  for (const name of list) checkTypeName(name, field);
  return [...new Set(list)].sort();
}

/** Checks a setting: names are type names (or categories), nothing is both on and off. */
export function normaliseSettings(input: LoggerSettingsInput, knownCategories: Set<string>) {
  if (!LOGGER_LEVELS.includes(input.level)) throw new AuditError('BAD_USER_INPUT', `level must be one of ${LOGGER_LEVELS.join(', ')}`, { field: 'level' });
  const typesOn = names(input.typesOn, 'typesOn', input.level);
  const typesOff = names(input.typesOff, 'typesOff', input.level);
  const categoriesOn = names(input.categoriesOn, 'categoriesOn', input.level);
  const categoriesOff = names(input.categoriesOff, 'categoriesOff', input.level);
  for (const [field, list] of [['categoriesOn', categoriesOn], ['categoriesOff', categoriesOff]] as const) {
    const unknown = list.filter((c) => !knownCategories.has(c));
    if (unknown.length > 0) {
      throw new AuditError('BAD_USER_INPUT', `${field}: no event type has the category ${unknown.map((c) => `"${c}"`).join(', ')}`, { field });
    }
  }
  const bothTypes = typesOn.filter((t) => typesOff.includes(t));
  if (bothTypes.length > 0) throw new AuditError('BAD_USER_INPUT', `typesOn and typesOff both name ${bothTypes.join(', ')}`, { field: 'typesOff' });
  const bothCategories = categoriesOn.filter((c) => categoriesOff.includes(c));
  if (bothCategories.length > 0) {
    throw new AuditError('BAD_USER_INPUT', `categoriesOn and categoriesOff both name ${bothCategories.join(', ')}`, { field: 'categoriesOff' });
  }
  const throttleSeconds = input.throttleSeconds ?? 0;
  if (!Number.isInteger(throttleSeconds) || throttleSeconds < 0 || throttleSeconds > MAX_THROTTLE_SECONDS) {
    throw new AuditError('BAD_USER_INPUT', `throttleSeconds must be a whole number from 0 to ${MAX_THROTTLE_SECONDS}`, { field: 'throttleSeconds' });
  }
  return { level: input.level, typesOn, typesOff, categoriesOn, categoriesOff, throttleSeconds };
}

/** Creates or replaces the setting of a target; returns it before (null: none) and after. */
export async function upsertLoggerSettings(
  db: Db,
  target: SettingTarget,
  settings: ReturnType<typeof normaliseSettings>,
): Promise<{ before: LoggerSettingView | null; after: LoggerSettingView }> {
  return db.transaction(async (tx) => {
    const { key, userId, groupId } = (await targetKey(tx, target, true))!;
    const [before] = await selectSettings(tx, key);
    await tx
      .insert(loggerSettings)
      .values({ targetKey: key, userId, groupId, ...settings })
      .onConflictDoUpdate({ target: loggerSettings.targetKey, set: { ...settings, updatedAt: sql`now()` } });
    const [after] = await selectSettings(tx, key);
    return { before: before ?? null, after: after! };
  });
}

/** Removes the setting of a target; returns what was removed, or null when there was none. */
export async function deleteLoggerSettings(db: Db, target: SettingTarget): Promise<LoggerSettingView | null> {
  return db.transaction(async (tx) => {
    const found = await targetKey(tx, target, false);
    if (!found) return null;
    const [before] = await selectSettings(tx, found.key);
    if (!before) return null;
    await tx.delete(loggerSettings).where(eq(loggerSettings.targetKey, found.key));
    return before;
  });
}
