import { performance, type PerformanceRow } from '../../history/performance.js';
import { builder } from '../builder.js';
import { EventFilterInput, toEventFilter } from './event.js';

const PerformanceGroupBy = builder.enumType('PerformanceGroupBy', {
  description: 'TYPE: per event type. FUNCTION: per function name (the `function`/`name` parameter or the first entity parameter).',
  values: ['TYPE', 'FUNCTION'] as const,
});

/** The same statistics on a type and on its days (`t` is either object's field builder). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const statsFields = (t: any) => ({
  count: t.exposeInt('count'),
  avgMs: t.exposeFloat('avgMs', { nullable: true }),
  p50Ms: t.exposeFloat('p50Ms', { nullable: true, description: 'percentile_cont(0.5) of the durations.' }),
  p95Ms: t.exposeFloat('p95Ms', { nullable: true }),
  p99Ms: t.exposeFloat('p99Ms', { nullable: true }),
  maxMs: t.exposeFloat('maxMs', { nullable: true }),
});

const DayPerformance = builder.objectRef<PerformanceRow['byDay'][number]>('DayPerformance').implement({
  fields: (t) => ({ day: t.exposeString('day', { description: 'UTC day, YYYY-MM-DD.' }), ...statsFields(t) }),
});

const Performance = builder.objectRef<PerformanceRow>('Performance').implement({
  description: 'How long the operations of one event type (or function) took, over the events that carry a duration.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The event type or function name.' }),
    ...statsFields(t),
    byDay: t.field({ type: [DayPerformance], description: 'Oldest day first.', resolve: (row) => row.byDay }),
  }),
});

builder.queryFields((t) => ({
  performance: t.field({
    type: [Performance],
    description: 'Duration statistics per event type or function, most frequent first.',
    authScopes: { read: true },
    args: {
      filter: t.arg({ type: EventFilterInput, required: false }),
      groupBy: t.arg({ type: PerformanceGroupBy, defaultValue: 'TYPE' }),
    },
    resolve: (_root, args, ctx) => performance(ctx.services.db, toEventFilter(args.filter), args.groupBy ?? 'TYPE'),
  }),
}));
