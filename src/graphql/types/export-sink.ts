import { encodeFeedPosition } from '../../history/committed-feed.js';
import { configureSink, removeSink, sinkStatuses, type Sink, type SinkStatus } from '../../export/sinks.js';
import { builder } from '../builder.js';

const ExportLevel = builder.enumType('ExportLevel', {
  description: 'error: error events; warning: failed logins and events with a `level: warning` parameter; info: the rest.',
  values: { ERROR: { value: 'error' }, WARNING: { value: 'warning' }, INFO: { value: 'info' } } as const,
});

const ExportStart = builder.enumType('ExportStart', {
  description: 'Where a new sink starts: every stored event, or those committed from now on.',
  values: ['BEGINNING', 'NOW'] as const,
});

const ExportSinkKind = builder.enumType('ExportSinkKind', {
  values: { CLOUDWATCH: { value: 'cloudwatch' }, FILE: { value: 'file' } } as const,
});

const CloudWatchStreamInput = builder.inputType('CloudWatchStreamInput', {
  fields: (t) => ({
    match: t.string({ required: true, description: 'An event type (`log`, `error`) or a category (`authentication`); a type wins over a category.' }),
    stream: t.string({ required: true, description: 'The log stream; created when missing.' }),
  }),
});

const CloudWatchExportInput = builder.inputType('CloudWatchExportInput', {
  description: 'Credentials are not part of it: the server takes them from its environment or the named profile.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique; configuring an existing name changes that sink and keeps its position.' }),
    logGroup: t.string({ required: true, description: 'Created when missing.' }),
    streams: t.field({ type: [CloudWatchStreamInput], required: true }),
    defaultStream: t.string({ required: false, description: 'Stream of events that no entry of `streams` matches; without it they are not sent.' }),
    levels: t.field({ type: [ExportLevel], required: false, description: 'Levels to send; all when left out.' }),
    batchSize: t.int({ required: false, description: 'Events per PutLogEvents call (1 to 10000, default 1000).' }),
    region: t.string({ required: true }),
    endpoint: t.string({ required: false, description: 'Another endpoint than AWS’s (a VPC endpoint, LocalStack).' }),
    profile: t.string({ required: false, description: 'A named profile of the AWS config files; the default credential chain when left out.' }),
    startAt: t.field({ type: ExportStart, required: false, description: 'NOW when left out; only used when the sink is created.' }),
  }),
});

const FileExportInput = builder.inputType('FileExportInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    path: t.string({ required: true, description: 'Relative to the server’s EXPORT_FILE_DIR.' }),
    maxFileSizeBytes: t.float({ required: false, description: 'Roll over past this size (default 100 MB, at least 256).' }),
    maxBackups: t.int({ required: false, description: 'Rolled files kept: path.1 (newest) … path.N (default 10).' }),
    types: t.stringList({ required: false, description: 'Only these event types.' }),
    categories: t.stringList({ required: false, description: 'Only these categories.' }),
    levels: t.field({ type: [ExportLevel], required: false }),
    startAt: t.field({ type: ExportStart, required: false }),
  }),
});

const ExportSink = builder.objectRef<SinkStatus>('ExportSink').implement({
  description: 'Where events are exported, and how far behind the export is.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: ExportSinkKind, resolve: (s) => s.kind }),
    config: t.field({ type: 'JSON', description: 'The settings (never credentials).', resolve: (s) => s.config }),
    position: t.string({ nullable: true, description: 'The last delivered position in commit order; null before the first.', resolve: (s) => (s.cursor ? encodeFeedPosition(s.cursor) : null) }),
    lag: t.int({ description: 'Committed events not yet past the sink (those its filters skip included).', resolve: (s) => s.lag }),
    lagSeconds: t.float({ description: 'Age of the oldest of them; 0 when caught up.', resolve: (s) => s.lagSeconds }),
    delivered: t.float({ description: 'Events delivered since the sink was created.', resolve: (s) => s.delivered }),
    lastDeliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastDeliveredAt }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'The last failure or warning (kept after later successes; compare the times).' }),
    lastErrorAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastErrorAt }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
  }),
});

const withoutLag = (sink: Sink): SinkStatus => ({ ...sink, lag: 0, lagSeconds: 0 });

builder.queryFields((t) => ({
  exportSinks: t.field({
    type: [ExportSink],
    description: 'The export sinks, by name, with their lag and last error.',
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => sinkStatuses(ctx.services.db),
  }),
}));

builder.mutationFields((t) => ({
  configureCloudWatchExport: t.field({
    type: ExportSink,
    description: 'Creates or changes a CloudWatch Logs export.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CloudWatchExportInput, required: true }) },
    resolve: async (_root, { input: { name, startAt, ...config } }, ctx) =>
      withoutLag(await configureSink(ctx.services.db, 'cloudwatch', { name, startAt, config })),
  }),
  configureFileExport: t.field({
    type: ExportSink,
    description: 'Creates or changes an export to a rolling JSON-lines file.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: FileExportInput, required: true }) },
    resolve: async (_root, { input: { name, startAt, ...config } }, ctx) =>
      withoutLag(await configureSink(ctx.services.db, 'file', { name, startAt, config })),
  }),
  removeExportSink: t.field({
    type: ExportSink,
    description: 'Removes a sink; answers it as it was.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => withoutLag(await removeSink(ctx.services.db, String(args.id))),
  }),
}));
