import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { groups, groupsRelations, users } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { groupMemberIds } from '../history/events.js';
import type { UserView } from '../history/users.js';
import type { GroupView } from './model.js';

/** Personal groups (Datagrok's model: how a user takes part in groups_relations) use this prefix. */
const PERSONAL_PREFIX = 'user:';
/** Serialises membership changes, so that two concurrent changes cannot close a cycle together. */
const GROUPS_LOCK = 7_311_003;
const MAX_MEMBERS = 10_000;

const groupColumns = { id: groups.id, name: groups.name, description: groups.description, createdAt: groups.createdAt };
const userColumns = { id: users.id, login: users.login, displayName: users.displayName, roles: users.roles, disabled: users.disabled, createdAt: users.createdAt };

export interface Members {
  users: string[];
  groups: string[];
}

function checkGroupName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw new AuditError('BAD_USER_INPUT', 'a group name must be 1 to 200 characters', { field: 'name' });
  if (trimmed.startsWith(PERSONAL_PREFIX)) {
    throw new AuditError('BAD_USER_INPUT', `group names starting with "${PERSONAL_PREFIX}" are reserved for users' personal groups`, { field: 'name' });
  }
  return trimmed;
}

/** Groups by name; users' personal groups are not listed. */
export function listGroups(db: Db): Promise<GroupView[]> {
  return db.select(groupColumns).from(groups).where(eq(groups.personal, false)).orderBy(asc(groups.name));
}

export async function findGroup(db: Db, name: string): Promise<GroupView | null> {
  const [row] = await db
    .select(groupColumns)
    .from(groups)
    .where(and(eq(groups.name, name), eq(groups.personal, false)));
  return row ?? null;
}

/** Creates a group, or changes its description; returns it before (null: new) and after. */
export async function upsertGroup(db: Db, name: string, description: string | null): Promise<{ before: GroupView | null; after: GroupView }> {
  const checked = checkGroupName(name);
  if (description && description.length > 2000) throw new AuditError('VALUE_TOO_LONG', 'description is longer than 2000 characters', { field: 'description' });
  return db.transaction(async (tx) => {
    const before = await findGroup(tx, checked);
    const [after] = await tx
      .insert(groups)
      .values({ name: checked, description })
      .onConflictDoUpdate({ target: groups.name, set: { description } })
      .returning(groupColumns);
    return { before, after: after! };
  });
}

/** The users directly in a group (through their personal groups), by login. */
export function directUsers(db: Db, groupId: string): Promise<UserView[]> {
  return db
    .select(userColumns)
    .from(users)
    .innerJoin(groupsRelations, eq(groupsRelations.childId, users.groupId))
    .where(eq(groupsRelations.parentId, groupId))
    .orderBy(asc(users.login));
}

/** The groups directly in a group, by name. */
export function childGroups(db: Db, groupId: string): Promise<GroupView[]> {
  return db
    .select(groupColumns)
    .from(groups)
    .innerJoin(groupsRelations, eq(groupsRelations.childId, groups.id))
    .where(and(eq(groupsRelations.parentId, groupId), eq(groups.personal, false)))
    .orderBy(asc(groups.name));
}

/** Every user of a group, directly or through child groups at any depth, by login. */
export function allUsers(db: Db, name: string): Promise<UserView[]> {
  return db.select(userColumns).from(users).where(inArray(users.id, groupMemberIds(name))).orderBy(asc(users.login));
}

async function members(db: Db, groupId: string): Promise<Members> {
  const [u, g] = await Promise.all([directUsers(db, groupId), childGroups(db, groupId)]);
  return { users: u.map((x) => x.login), groups: g.map((x) => x.name) };
}

/**
 * Replaces the direct members of a group. Users are created on first sight (with their personal
 * group); child groups must exist; a change that would make a group its own member, directly or
 * through other groups, is refused with the path of the cycle.
 */
export async function setGroupMembers(db: Db, name: string, userLogins: string[], groupNames: string[]): Promise<{ group: GroupView; before: Members; after: Members }> {
  const logins = [...new Set(userLogins.map((l) => l.trim()))].sort();
  const childNames = [...new Set(groupNames)].sort();
  if (logins.length + childNames.length > MAX_MEMBERS) throw new AuditError('BAD_USER_INPUT', `a group has at most ${MAX_MEMBERS} direct members`, { field: 'users' });
  const badLogin = logins.find((l) => !l || l.length > 200);
  if (badLogin !== undefined) throw new AuditError('BAD_USER_INPUT', 'a user login must be 1 to 200 characters', { field: 'users' });

  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${GROUPS_LOCK})`);
    const group = await findGroup(tx, name);
    if (!group) throw new AuditError('NOT_FOUND', `no group "${name.slice(0, 200)}"; create it with upsertGroup`, { field: 'group' });
    const children = childNames.length
      ? await tx.select({ id: groups.id, name: groups.name }).from(groups).where(and(inArray(groups.name, childNames), eq(groups.personal, false)))
      : [];
    const missing = childNames.filter((n) => !children.some((c) => c.name === n));
    if (missing.length > 0) throw new AuditError('NOT_FOUND', `no group ${missing.map((n) => `"${n}"`).join(', ')}`, { field: 'groups', missing });
    await refuseCycle(tx, group, children);

    const before = await members(tx, group.id);
    const personalIds = await personalGroups(tx, logins);
    await tx.delete(groupsRelations).where(eq(groupsRelations.parentId, group.id));
    const rows = [...children.map((c) => c.id), ...personalIds].map((childId) => ({ parentId: group.id, childId }));
    if (rows.length > 0) await tx.insert(groupsRelations).values(rows);
    return { group, before, after: { users: logins, groups: childNames } };
  });
}

/** Throws GROUP_CYCLE when one of the new children already contains the group. */
async function refuseCycle(tx: Db, group: GroupView, children: Array<{ id: string; name: string }>): Promise<void> {
  if (children.length === 0) return;
  const edges = await queryRows<{ parent_id: string; child_id: string; child_name: string }>(
    tx,
    sql`select r.parent_id, r.child_id, g.name as child_name from groups_relations r join groups g on g.id = r.child_id where not g.personal`,
  );
  const childrenOf = new Map<string, Array<{ id: string; name: string }>>();
  for (const edge of edges) {
    if (edge.parent_id === group.id) continue; // these are being replaced
    const list = childrenOf.get(edge.parent_id) ?? [];
    list.push({ id: edge.child_id, name: edge.child_name });
    childrenOf.set(edge.parent_id, list);
  }
  for (const child of children) {
    // Breadth-first from the new child down; reaching the group closes a cycle.
    const previous = new Map<string, string | null>([[child.id, null]]);
    const nameOf = new Map([[child.id, child.name]]);
    let frontier = [child.id];
    let found = child.id === group.id;
    while (!found && frontier.length > 0) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const c of childrenOf.get(id) ?? []) {
          if (previous.has(c.id)) continue;
          previous.set(c.id, id);
          nameOf.set(c.id, c.name);
          if (c.id === group.id) found = true;
          next.push(c.id);
        }
      }
      frontier = next;
    }
    if (!found) continue;
    // group → child → … → group
    const path = [group.name];
    const chain: string[] = [];
    for (let at: string | null = group.id; at !== null; at = previous.get(at) ?? null) chain.unshift(nameOf.get(at) ?? group.name);
    path.push(...chain);
    throw new AuditError('GROUP_CYCLE', `adding "${child.name}" to "${group.name}" would make a cycle: ${path.join(' → ')}`, {
      field: 'groups',
      path,
    });
  }
}

/** The personal group of each login, creating users and personal groups on first need. */
async function personalGroups(tx: Db, logins: string[]): Promise<string[]> {
  if (logins.length === 0) return [];
  const list = sql`${JSON.stringify(logins)}::json`;
  await tx.execute(sql`insert into users (login) select value from json_array_elements_text(${list}) on conflict (login) do nothing`);
  await tx.execute(sql`
    with missing as (select id, login from users where group_id is null and login in (select value from json_array_elements_text(${list}))),
         created as (insert into groups (name, personal) select ${PERSONAL_PREFIX} || login, true from missing
                     on conflict (name) do update set personal = true returning id, name)
    update users u set group_id = c.id from created c where c.name = ${PERSONAL_PREFIX} || u.login`);
  const rows = await queryRows<{ group_id: string }>(tx, sql`select group_id from users where login in (select value from json_array_elements_text(${list}))`);
  return rows.map((r) => r.group_id);
}
