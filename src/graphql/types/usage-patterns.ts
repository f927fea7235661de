import { usagePatterns, type CharacteristicType, type GroupCorrelation, type UsageCluster, type UsagePatterns } from '../../history/patterns.js';
import { builder } from '../builder.js';
import { EventFilterInput, toEventFilter } from './event.js';

const CharacteristicTypeRef = builder.objectRef<CharacteristicType>('CharacteristicEventType').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    share: t.exposeFloat('share', { description: 'Mean share of this type in the activity of the cluster’s users.' }),
    lift: t.exposeFloat('lift', { description: 'share ÷ the mean share over all users.' }),
  }),
});

const GroupCorrelationRef = builder.objectRef<GroupCorrelation>('GroupCorrelation').implement({
  fields: (t) => ({
    group: t.exposeString('group'),
    members: t.exposeInt('members', { description: 'Members of the group among the users clustered.' }),
    membersInCluster: t.exposeInt('membersInCluster'),
    share: t.exposeFloat('share', { description: 'membersInCluster ÷ members.' }),
    lift: t.exposeFloat('lift', { description: 'share ÷ the cluster’s share of all users; above 1 means over-represented.' }),
  }),
});

const UsageClusterRef = builder.objectRef<UsageCluster>('UsageCluster').implement({
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Clusters are numbered largest first.' }),
    users: t.exposeStringList('users'),
    characteristicTypes: t.field({ type: [CharacteristicTypeRef], description: 'The types that set the cluster apart, highest lift first.', resolve: (c) => c.characteristicTypes }),
    groups: t.field({ type: [GroupCorrelationRef], description: 'Every group with members among the users, highest lift first.', resolve: (c) => c.groups }),
  }),
});

const UsagePatternsRef = builder.objectRef<UsagePatterns>('UsagePatterns').implement({
  fields: (t) => ({
    users: t.exposeInt('users', { description: 'Users clustered (those with matching events).' }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'The dimensions of the user vectors.' }),
    clusters: t.field({ type: [UsageClusterRef], resolve: (p) => p.clusters }),
  }),
});

builder.queryFields((t) => ({
  usagePatterns: t.field({
    type: UsagePatternsRef,
    description: 'Users clustered by the mix of event types they produce (deterministic k-means), with each cluster’s correlation with groups.',
    authScopes: { read: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      clusters: t.arg.int({ defaultValue: 3, description: '1 to 50, at most the number of users.' }),
    },
    resolve: (_root, args, ctx) => usagePatterns(ctx.services.db, toEventFilter(args.filter), args.clusters ?? 3),
  }),
}));
