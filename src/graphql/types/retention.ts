import type { DroppedMonth as DroppedMonthView, RetentionPolicyView } from '../../retention/retention.js';
import { getRetentionPolicy } from '../../retention/retention.js';
import { builder } from '../builder.js';

const DroppedMonth = builder.objectRef<DroppedMonthView>('DroppedMonth').implement({
  fields: (t) => ({
    month: t.exposeString('month', { description: 'YYYY-MM (UTC).' }),
    events: t.exposeInt('events'),
  }),
});

const RetentionPolicy = builder.objectRef<RetentionPolicyView>('RetentionPolicy').implement({
  fields: (t) => ({
    months: t.exposeInt('months', { nullable: true, description: 'Months of events kept; null keeps everything.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
    partitions: t.stringList({
      description: 'Months (YYYY-MM) that have a partition, oldest first.',
      resolve: (_policy, _args, ctx) => ctx.services.partitions.months(),
    }),
  }),
});

const RetentionChange = builder.objectRef<{ policy: RetentionPolicyView; dropped: DroppedMonthView[] }>('RetentionChange').implement({
  fields: (t) => ({
    policy: t.field({ type: RetentionPolicy, resolve: (r) => r.policy }),
    dropped: t.field({ type: [DroppedMonth], description: 'Months dropped by applying the new policy now.', resolve: (r) => r.dropped }),
  }),
});

builder.queryFields((t) => ({
  retentionPolicy: t.field({
    type: RetentionPolicy,
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => getRetentionPolicy(ctx.services.db),
  }),
}));

builder.mutationFields((t) => ({
  setRetentionPolicy: t.field({
    type: RetentionChange,
    description: 'Keep `months` months of events (null: keep all). Expired months are dropped whole, now and hourly; each drop is recorded.',
    authScopes: { admin: true },
    args: { months: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.retention.setPolicy(args.months ?? null, ctx.auth.userLogin),
  }),
}));
