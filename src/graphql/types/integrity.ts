import { verifyIntegrity, type BrokenLink, type IntegrityReport, type PrunedMonth } from '../../audit/integrity.js';
import { builder } from '../builder.js';

const BrokenLinkRef = builder.objectRef<BrokenLink>('BrokenLink').implement({
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description:
        'batch-missing, batch-link, batch-head, batch-digest, event-deleted, event-changed, event-unsealed (inserted directly), ' +
        'checkpoint-key (signed by a key not trusted), checkpoint-signature (a checkpoint altered), checkpoint-head (the chain rewritten since a checkpoint), ' +
        'checkpoint-batch-missing (the chain cut below a checkpoint) or pruned-count (more events missing from a dropped month than its drop removed).',
    }),
    batch: t.exposeInt('batch', { nullable: true }),
    eventId: t.exposeID('eventId', { nullable: true }),
    message: t.exposeString('message'),
  }),
});

const PrunedMonthRef = builder.objectRef<PrunedMonth>('PrunedMonth').implement({
  description: 'A month retention dropped, as verification accepted it.',
  fields: (t) => ({
    month: t.exposeString('month', { description: 'YYYY-MM (UTC).' }),
    events: t.exposeInt('events', { description: 'Sealed events of the month found missing and counted as pruned.' }),
    signed: t.exposeBoolean('signed', { description: 'A signed checkpoint proves the drop (false: only its unsigned record, with no checkpoint key).' }),
  }),
});

const IntegrityReportRef = builder.objectRef<IntegrityReport>('IntegrityReport').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    batches: t.exposeInt('batches', { description: 'Batches (ingest transactions) checked.' }),
    events: t.exposeInt('events', { description: 'Events whose hash was recomputed.' }),
    prunedEvents: t.exposeInt('prunedEvents', { description: 'Sealed events gone with a month retention dropped.' }),
    checkpoints: t.exposeInt('checkpoints', { description: 'Checkpoints whose signature and head were checked.' }),
    head: t.exposeString('head', { nullable: true, description: 'The chain head after the last batch checked.' }),
    firstBroken: t.field({ type: BrokenLinkRef, nullable: true, resolve: (r) => r.firstBroken }),
    prunedMonths: t.field({ type: [PrunedMonthRef], resolve: (r) => r.prunedMonths }),
    warnings: t.exposeStringList('warnings', { description: 'What could not be proven (no checkpoint key, unsigned drops); they do not make ok false.' }),
  }),
});

builder.queryFields((t) => ({
  verifyIntegrity: t.field({
    type: IntegrityReportRef,
    description:
      'Recomputes the hash chain of the events committed in [since, until), checks every stored checkpoint (signature, and that the chain still has its head) ' +
      'and reports the first broken link. Months dropped by retention count as pruned only when their drop is signed.',
    authScopes: { admin: true },
    args: { since: t.arg({ type: 'DateTime', required: false }), until: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) => verifyIntegrity(ctx.services.db, { since: args.since, until: args.until, trusted: ctx.services.checkpoints.keys.trusted }),
  }),
}));
