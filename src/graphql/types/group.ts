import type { GroupView } from '../../settings/model.js';
import { builder } from '../builder.js';
import { User } from './user.js';

export const Group = builder.objectRef<GroupView>('Group');

Group.implement({
  description: 'A group of users and other groups; a member of a child group is a member of the parent.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    users: t.field({ type: [User], description: 'Direct members, by login.', resolve: (g, _args, ctx) => ctx.services.settings.directUsers(g) }),
    groups: t.field({ type: [Group], description: 'Direct child groups, by name.', resolve: (g, _args, ctx) => ctx.services.settings.childGroups(g) }),
    allUsers: t.field({
      type: [User],
      description: 'Every member: direct, and through child groups at any depth.',
      resolve: (g, _args, ctx) => ctx.services.settings.allUsers(g),
    }),
  }),
});

builder.queryFields((t) => ({
  groups: t.field({
    type: [Group],
    description: 'Every group, by name (users’ personal groups are not listed).',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.services.settings.listGroups(),
  }),
  group: t.field({
    type: Group,
    nullable: true,
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.settings.findGroup(args.name),
  }),
}));

builder.mutationFields((t) => ({
  upsertGroup: t.field({
    type: Group,
    description: 'Creates a group, or changes the description of an existing one.',
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }), description: t.arg.string({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.settings.upsertGroup(args.name, args.description ?? null, ctx.auth.userLogin),
  }),
  setGroupMembers: t.field({
    type: Group,
    description: 'Replaces the direct members of a group. Users are created on first sight; a cycle is refused (GROUP_CYCLE).',
    authScopes: { admin: true },
    args: {
      group: t.arg.string({ required: true }),
      users: t.arg.stringList({ defaultValue: [] }),
      groups: t.arg.stringList({ defaultValue: [] }),
    },
    resolve: (_root, args, ctx) => ctx.services.settings.setGroupMembers(args.group, args.users ?? [], args.groups ?? [], ctx.auth.userLogin),
  }),
}));
