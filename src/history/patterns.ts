import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { AuditError } from '../errors.js';
import { num, whereOf } from './analysis-common.js';
import type { EventFilter } from './events.js';
import { kMeans } from './kmeans.js';

export interface CharacteristicType {
  type: string;
  /** Mean share of the type in the cluster's users' activity. */
  share: number;
  /** share ÷ the mean share over all users. */
  lift: number;
}

export interface GroupCorrelation {
  group: string;
  /** Members of the group among the users clustered. */
  members: number;
  membersInCluster: number;
  /** membersInCluster ÷ members. */
  share: number;
  /** share ÷ (cluster size ÷ users clustered): above 1, the group is over-represented. */
  lift: number;
}

export interface UsageCluster {
  index: number;
  users: string[];
  characteristicTypes: CharacteristicType[];
  groups: GroupCorrelation[];
}

export interface UsagePatterns {
  users: number;
  eventTypes: string[];
  clusters: UsageCluster[];
}

export const MAX_CLUSTERS = 50;
const MAX_USERS = 20_000;
const CHARACTERISTIC = 5;

/**
 * Each user as a vector of event-type shares (counts ÷ the user's total, so heavy users do not
 * dominate), grouped by a deterministic k-means; each cluster with its users, the types that set it
 * apart, and for each group the share of its members in the cluster and the lift over the base rate.
 */
export async function usagePatterns(db: Db, filter: EventFilter, k: number): Promise<UsagePatterns> {
  if (!Number.isInteger(k) || k < 1 || k > MAX_CLUSTERS) {
    throw new AuditError('BAD_USER_INPUT', `clusters must be 1 to ${MAX_CLUSTERS}; it was ${k}`, { field: 'clusters' });
  }
  const counts = await queryRows<{ login: string; type: string; count: unknown }>(
    db,
    sql`select u.login, t.name as type, count(*)::int as count from events
        join users u on u.id = events.user_id join event_types t on t.id = events.event_type_id
        where ${whereOf(filter)} group by u.login, t.name order by u.login, t.name`,
  );
  const logins = [...new Set(counts.map((row) => row.login))].sort();
  const types = [...new Set(counts.map((row) => row.type))].sort();
  if (logins.length === 0) return { users: 0, eventTypes: [], clusters: [] };
  if (logins.length > MAX_USERS) {
    throw new AuditError('BAD_USER_INPUT', `${logins.length} users match; narrow the filter to at most ${MAX_USERS}`, { field: 'filter' });
  }
  if (k > logins.length) {
    throw new AuditError('BAD_USER_INPUT', `clusters (${k}) is more than the users that match (${logins.length})`, { field: 'clusters' });
  }
  const userIndex = new Map(logins.map((login, i) => [login, i]));
  const typeIndex = new Map(types.map((type, i) => [type, i]));
  const vectors = logins.map(() => new Array<number>(types.length).fill(0));
  for (const row of counts) vectors[userIndex.get(row.login)!]![typeIndex.get(row.type)!] = num(row.count);
  for (const v of vectors) {
    const total = v.reduce((a, b) => a + b, 0);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / total;
  }
  const { assignment, centroids } = kMeans(vectors, k);
  const mean = types.map((_, t) => vectors.reduce((sum, v) => sum + v[t]!, 0) / vectors.length);

  const memberships = await groupMemberships(db);
  const groupMembers = new Map<string, string[]>();
  for (const login of logins) {
    for (const group of memberships.get(login) ?? []) groupMembers.set(group, [...(groupMembers.get(group) ?? []), login]);
  }

  // Clusters in a stable order: largest first, then by first login.
  const order = centroids
    .map((_, c) => ({ c, users: logins.filter((_, u) => assignment[u] === c) }))
    .filter((x) => x.users.length > 0)
    .sort((a, b) => b.users.length - a.users.length || a.users[0]!.localeCompare(b.users[0]!));
  const clusters = order.map(({ c, users }, index): UsageCluster => {
    const inCluster = new Set(users);
    const base = users.length / logins.length;
    return {
      index,
      users,
      characteristicTypes: types
        .map((type, t) => ({ type, share: centroids[c]![t]!, lift: mean[t]! > 0 ? centroids[c]![t]! / mean[t]! : 0 }))
        .filter((x) => x.share > 0)
        .sort((a, b) => b.lift - a.lift || b.share - a.share || a.type.localeCompare(b.type))
        .slice(0, CHARACTERISTIC),
      groups: [...groupMembers]
        .map(([group, members]) => {
          const membersInCluster = members.filter((m) => inCluster.has(m)).length;
          const share = membersInCluster / members.length;
          return { group, members: members.length, membersInCluster, share, lift: share / base };
        })
        .sort((a, b) => b.lift - a.lift || a.group.localeCompare(b.group)),
    };
  });
  return { users: logins.length, eventTypes: types, clusters };
}

/** login → names of the (non-personal) groups the user is in, directly or through child groups. */
async function groupMemberships(db: Db): Promise<Map<string, string[]>> {
  const rows = await queryRows<{ login: string; name: string }>(
    db,
    sql`with recursive membership(user_id, group_id) as (
          select u.id, u.group_id from users u where u.group_id is not null
          union select m.user_id, r.parent_id from membership m join groups_relations r on r.child_id = m.group_id)
        select u.login, g.name from membership m join users u on u.id = m.user_id
        join groups g on g.id = m.group_id and not g.personal order by u.login, g.name`,
  );
  const result = new Map<string, string[]>();
  for (const row of rows) result.set(row.login, [...(result.get(row.login) ?? []), row.name]);
  return result;
}
