import { verifyIntegrity, type BrokenLink, type IntegrityReport } from '../../audit/integrity.js';
import { builder } from '../builder.js';

const BrokenLinkRef = builder.objectRef<BrokenLink>('BrokenLink').implement({
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description: 'batch-missing, batch-link, batch-head, batch-digest, event-deleted, event-changed or event-unsealed (inserted directly).',
    }),
    batch: t.exposeInt('batch', { nullable: true }),
    eventId: t.exposeID('eventId', { nullable: true }),
    message: t.exposeString('message'),
  }),
});

const IntegrityReportRef = builder.objectRef<IntegrityReport>('IntegrityReport').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    batches: t.exposeInt('batches', { description: 'Batches (ingest transactions) checked.' }),
    events: t.exposeInt('events', { description: 'Events checked.' }),
    head: t.exposeString('head', { nullable: true, description: 'The chain head after the last batch checked.' }),
    firstBroken: t.field({ type: BrokenLinkRef, nullable: true, resolve: (r) => r.firstBroken }),
  }),
});

builder.queryFields((t) => ({
  verifyIntegrity: t.field({
    type: IntegrityReportRef,
    description: 'Recomputes the hash chain of the events committed in [since, until) and reports the first broken link.',
    authScopes: { admin: true },
    args: { since: t.arg({ type: 'DateTime', required: false }), until: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) => verifyIntegrity(ctx.services.db, { since: args.since, until: args.until }),
  }),
}));
