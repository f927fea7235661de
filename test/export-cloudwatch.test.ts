import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportWorkers } from '../src/export/worker.js';
import { FakeCloudWatch } from './helpers/fake-cloudwatch.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

const SECRET = 'wJalrXUtnFEMI-test-secret-never-shown';
let server: TestServer;
let cloudwatch: FakeCloudWatch;

beforeAll(async () => {
  // Credentials come from the environment, as in production; the sink's settings never hold them.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXPORTTEST';
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  cloudwatch = new FakeCloudWatch();
  await cloudwatch.start();
  server = await startTestServer({ EXPORT_POLL_MS: '30', EXPORT_RETRY_MAX_MS: '160' });
});
afterAll(async () => {
  await server?.services.exports.stop();
  await server?.stop();
  await cloudwatch?.stop();
});

const CONFIGURE = `mutation($input: CloudWatchExportInput!) { configureCloudWatchExport(input: $input) { id name kind config position lag } }`;
const SINKS = `{ exportSinks { id name kind config lag lagSeconds delivered lastError lastErrorAt lastDeliveredAt position } }`;
const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id type } } } }`;

async function logEvents(events: Array<Record<string, unknown>>): Promise<Array<{ id: string; type: string }>> {
  const res = await server.gql(LOG_BATCH, { events });
  expect(res.errors).toBeUndefined();
  return res.data.logBatch.results.map((r: any) => r.event);
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The stream each event should reach, by the sink's settings below; null: not sent. */
function expectedStream(event: { type: string }): string | null {
  if (event.type === 'log') return 'app-log';
  if (event.type === 'error') return 'app-errors';
  if (['login', 'failed-login', 'logout'].includes(event.type)) return 'auth';
  return null;
}

const mixed = (round: number, n: number) =>
  Array.from({ length: n }, (_, i) => {
    const kind = i % 5;
    const base = { user: `user${i % 3}`, message: `round ${round} #${i}`, occurredAt: new Date(Date.now() - (n - i) * 1000 - (i % 2) * 5000).toISOString() };
    if (kind === 0) return { ...base, type: 'error', stackTrace: `Error: boom ${i}\n    at f (app.js:1:1)` };
    if (kind === 1) return { ...base, type: 'login' };
    if (kind === 2) return { ...base, type: 'query-created' };
    if (kind === 3) return { ...base, type: 'failed-login' };
    return { ...base, type: 'log', parameters: { n: i } };
  });

describe('CloudWatch export', () => {
  let sinkId: string;
  const sent: Array<{ id: string; type: string }> = [];

  it('configures a sink without taking or showing credentials, and validates its settings', async () => {
    await logEvents([{ type: 'log', message: 'before the sink existed' }]);
    const res = await server.gql(CONFIGURE, {
      input: {
        name: 'cloudwatch-main',
        logGroup: '/audit/test',
        streams: [
          { match: 'log', stream: 'app-log' },
          { match: 'error', stream: 'app-errors' },
          { match: 'authentication', stream: 'auth' },
        ],
        batchSize: 7,
        region: 'us-east-1',
        endpoint: cloudwatch.url,
      },
    });
    expect(res.errors).toBeUndefined();
    const sink = res.data.configureCloudWatchExport;
    sinkId = sink.id;
    expect(sink).toMatchObject({ name: 'cloudwatch-main', kind: 'CLOUDWATCH', lag: 0 });
    expect(sink.position).not.toBeNull(); // starts NOW: the earlier event is not exported
    expect(sink.config).toMatchObject({ logGroup: '/audit/test', batchSize: 7, levels: ['error', 'warning', 'info'], defaultStream: null, profile: null });

    const bad = await server.gql(CONFIGURE, { input: { name: 'x', logGroup: 'g', streams: [], region: 'Mars', batchSize: 20_000 } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badStream = await server.gql(CONFIGURE, { input: { name: 'x', logGroup: 'g', streams: [{ match: 'log', stream: 'a:b' }], region: 'eu-west-1' } });
    expect(badStream.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'streams.0.stream' } });
    expect((await server.gql(SINKS)).data.exportSinks).toHaveLength(1);
  });

  it('delivers every event exactly once to its stream while the endpoint fails twice in the middle', async () => {
    for (let round = 0; round < 4; round++) sent.push(...(await logEvents(mixed(round, 15))));
    const lagging = (await server.gql(SINKS)).data.exportSinks[0];
    expect(lagging.lag).toBe(60);
    expect(lagging.lagSeconds).toBeGreaterThanOrEqual(0);

    cloudwatch.failPutCalls = new Set([3, 4]);
    server.services.exports.start();
    const wanted = sent.filter((e) => expectedStream(e));
    await until(() => cloudwatch.received('/audit/test').length >= wanted.length, 'all events');
    await until(async () => (await server.gql(SINKS)).data.exportSinks[0].lag === 0, 'lag 0');

    const received = cloudwatch.received('/audit/test');
    expect(received.map((r) => r.record.id).sort()).toEqual(wanted.map((e) => e.id).sort());
    for (const r of received) expect(r.stream).toBe(expectedStream(r.record));
    expect([...cloudwatch.groups.get('/audit/test')!.keys()].sort()).toEqual(['app-errors', 'app-log', 'auth']);
    // Levels and fields as documented.
    const error = received.find((r) => r.record.type === 'error')!;
    expect(error.record).toMatchObject({ level: 'error', category: 'error', stackTrace: expect.stringContaining('boom') });
    expect(received.find((r) => r.record.type === 'failed-login')!.record.level).toBe('warning');
    expect(received.find((r) => r.record.type === 'log')!.record).toMatchObject({ level: 'info', params: { n: expect.any(String) } });
    expect(error.timestamp).toBe(Date.parse(error.record.timestamp));

    const puts = cloudwatch.calls.filter((c) => c.operation === 'PutLogEvents');
    expect(puts.filter((c) => c.status === 500)).toHaveLength(2);
    expect(cloudwatch.calls.filter((c) => c.operation === 'CreateLogGroup' && c.status === 200)).toHaveLength(1);
    expect(cloudwatch.calls.filter((c) => c.operation === 'CreateLogStream' && c.status === 200)).toHaveLength(3);
    // Signed with the credentials of the environment.
    expect(puts.every((c) => c.authorization?.includes('Credential=AKIDEXPORTTEST/'))).toBe(true);

    const sink = (await server.gql(SINKS)).data.exportSinks[0];
    expect(sink).toMatchObject({ delivered: wanted.length, lag: 0, lastError: expect.stringContaining('unavailable (on demand)') });
    expect(sink.lastDeliveredAt).not.toBeNull();
  });

  it('resumes from its cursor after the worker is restarted, sending nothing twice', async () => {
    await server.services.exports.stop();
    const before = cloudwatch.received('/audit/test').length;
    const later = await logEvents(mixed(9, 20));
    sent.push(...later);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(cloudwatch.received('/audit/test')).toHaveLength(before);

    // A new worker, as a restarted server would build, knows only the cursor stored in the database.
    const restarted = new ExportWorkers({ db: server.services.db, logger: server.services.logger, pollMs: 30, retryMaxMs: 160, fileDir: '/tmp' });
    restarted.start();
    try {
      const wanted = sent.filter((e) => expectedStream(e));
      await until(() => cloudwatch.received('/audit/test').length >= wanted.length, 'the later events');
      await new Promise((resolve) => setTimeout(resolve, 150));
      const ids = cloudwatch.received('/audit/test').map((r) => r.record.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(wanted.map((e) => e.id).sort());
    } finally {
      await restarted.stop();
    }
  });

  it('never stores or answers a credential, and removes a sink', async () => {
    const [row] = await server.rows<{ row: string }>(sql`select row_to_json(s)::text as row from export_sinks s`);
    expect(row!.row).not.toContain(SECRET);
    expect(row!.row).not.toContain('AKIDEXPORTTEST');
    expect(JSON.stringify((await server.gql(SINKS)).data)).not.toContain(SECRET);

    const missing = await server.gql(`mutation { removeExportSink(id: "00000000-0000-0000-0000-000000000000") { id } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const removed = await server.gql(`mutation($id: ID!) { removeExportSink(id: $id) { id name } }`, { id: sinkId });
    expect(removed.data.removeExportSink).toEqual({ id: sinkId, name: 'cloudwatch-main' });
    expect((await server.gql(SINKS)).data.exportSinks).toEqual([]);
  });
});
