import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSchema, parse, validate, type GraphQLInputObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_BATCH_MUTATION, LOG_INPUT_FIELDS, Logger, type DropReport } from '../src/client/index.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

const root = new URL('..', import.meta.url).pathname;
let server: TestServer;

/**
 * A proxy in front of the real server that fails on demand: `down` answers 503 without passing the
 * request on; `lose` passes it on (the server stores the batch) and then answers 503 anyway, as a
 * connection cut after the work was done would.
 */
class FlakyProxy {
  mode: 'up' | 'down' | 'lose' = 'up';
  /** In `lose` mode, how many answers to lose before passing answers through again. */
  loseBudget = 0;
  readonly counts = { forwarded: 0, refused: 0, lost: 0 };
  private readonly server: Server;
  url = '';

  constructor(private readonly target: string) {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (this.mode === 'down') {
        this.counts.refused += 1;
        res.writeHead(503).end('unavailable');
        return;
      }
      const credential: Record<string, string> = req.headers.authorization ? { authorization: req.headers.authorization } : {};
      const answer = await fetch(this.target, { method: 'POST', headers: { 'content-type': 'application/json', ...credential }, body: Buffer.concat(chunks) });
      const text = await answer.text();
      this.counts.forwarded += 1;
      if (this.mode === 'lose' && this.loseBudget > 0) {
        this.loseBudget -= 1;
        this.counts.lost += 1;
        res.writeHead(503).end('lost');
        return;
      }
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
    });
  }

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let proxy: FlakyProxy;
beforeAll(async () => {
  server = await startTestServer();
  proxy = new FlakyProxy(server.url);
  await proxy.start();
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

// The credential is read when a batch is sent (the server starts after this line runs).
const fast = { batchSize: 20, flushIntervalMs: 20, retryInitialMs: 10, retryMaxMs: 80, flushOnExit: false, headers: () => ({ Authorization: `Bearer ${server.adminKey}` }) };

describe('client Logger', () => {
  it('is typed from schema.graphql and free of Node-only imports', () => {
    const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
    const input = schema.getType('LogInput') as GraphQLInputObjectType;
    expect(Object.keys(input.getFields()).sort()).toEqual([...LOG_INPUT_FIELDS].sort());
    expect(validate(schema, parse(LOG_BATCH_MUTATION))).toEqual([]);
    for (const file of readdirSync(join(root, 'src/client'))) {
      const text = readFileSync(join(root, 'src/client', file), 'utf8');
      expect(text, file).not.toMatch(/from '(node:|fs|path|http|crypto|os)|require\(|\bBuffer\b|(?<![.\w])process\./);
    }
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./client']).toBe('./src/client/index.ts');
  });

  it('delivers every record exactly once across a server that fails and recovers', async () => {
    const errors: unknown[] = [];
    const logger = new Logger({ url: proxy.url, ...fast, user: 'carol', defaults: (r) => (r.params.app = 'web-7'), onError: (e) => errors.push(e) });
    proxy.mode = 'down';
    for (let i = 0; i < 100; i++) logger.log(`client record ${i}`, { i }, i % 10 === 0 ? 'my_log' : undefined);
    for (let waited = 0; proxy.counts.refused < 3 && waited < 15_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.counts.refused).toBeGreaterThanOrEqual(3);
    expect(logger.stats()).toMatchObject({ queued: 100, sent: 0, dropped: 0 });

    // Back, but the first three answers are lost after the server stored the batches.
    proxy.mode = 'lose';
    proxy.loseBudget = 3;
    for (let i = 100; i < 200; i++) logger.log(`client record ${i}`, { i });
    expect(await logger.flush({ timeoutMs: 20_000 })).toBe(true);
    expect(proxy.counts.lost).toBe(3);
    expect(logger.stats()).toMatchObject({ queued: 0, sent: 200, dropped: 0 });
    expect(errors.length).toBeGreaterThan(3);

    const [counts] = await server.rows<{ total: number; distinct: number }>(
      sql`select count(*)::int as total, count(distinct description)::int as distinct from events where description like 'client record %'`,
    );
    expect(counts).toEqual({ total: 200, distinct: 200 });
    const res = await server.gql(`{ events(filter: { text: "client record 10" }, first: 20) { nodes { type user source message params } } }`);
    expect(res.data.events.nodes.find((n: any) => n.message === 'client record 10')).toEqual({
      type: 'my_log',
      user: 'carol',
      source: 'CLIENT',
      message: 'client record 10',
      params: { app: 'web-7', i: '10' },
    });
    await logger.close();
  });

  it('bounds its queue and reports what it drops', async () => {
    const drops: DropReport[] = [];
    const logger = new Logger({ url: proxy.url, ...fast, maxQueue: 5, onDrop: (d) => drops.push(d) });
    proxy.mode = 'down';
    const accepted = Array.from({ length: 8 }, (_, i) => logger.log(`bounded ${i}`));
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    expect(drops.map((d) => [d.reason, d.total])).toEqual([['queue-full', 1], ['queue-full', 2], ['queue-full', 3]]);
    proxy.mode = 'up';
    expect(await logger.flush({ timeoutMs: 10_000 })).toBe(true);
    const [row] = await server.rows<{ n: number }>(sql`select count(*)::int as n from events where description like 'bounded %'`);
    expect(row!.n).toBe(5);
    // A record the server refuses is dropped with its reason; the others of its batch go through.
    logger.log('bad type', {}, 'Not A Type');
    logger.log('fine after a bad one');
    expect(await logger.flush({ timeoutMs: 10_000 })).toBe(true);
    expect(drops.at(-1)).toMatchObject({ count: 1, reason: 'rejected: INVALID_EVENT_TYPE', total: 4 });
    expect((await server.rows(sql`select 1 from events where description = 'fine after a bad one'`)).length).toBe(1);
    await logger.close();
  });

  it('logs errors with their stack traces, and uncaught errors and rejections of a page', async () => {
    const page = new EventTarget();
    const logger = new Logger({ url: proxy.url, ...fast });
    const stop = logger.captureErrors({ target: page });
    logger.error('explicit failure', 'Error: explicit failure\n    at run (app.js:1:1)');
    const thrown = new TypeError('page blew up');
    page.dispatchEvent(Object.assign(new Event('error'), { message: thrown.message, error: thrown }));
    page.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: new Error('promise rejected') }));
    stop();
    page.dispatchEvent(Object.assign(new Event('error'), { message: 'after stop', error: new Error('after stop') }));
    await logger.close({ timeoutMs: 10_000 });
    const rows = await server.rows<{ description: string; is_error: boolean; has_trace: boolean }>(
      sql`select description, is_error, error_stack_trace is not null as has_trace from events
          where description in ('explicit failure', 'page blew up', 'promise rejected', 'after stop') order by id`,
    );
    expect(rows).toEqual([
      { description: 'explicit failure', is_error: true, has_trace: true },
      { description: 'page blew up', is_error: true, has_trace: true },
      { description: 'promise rejected', is_error: true, has_trace: true },
    ]);
  });

  it('in Node, delivers an uncaught exception before the process exits, and flushes at exit', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'audit-client-')), 'app.mts');
    writeFileSync(
      script,
      `import { Logger } from ${JSON.stringify(join(root, 'src/client/index.ts'))};
      const logger = new Logger({ url: process.argv[2], flushIntervalMs: 60000, headers: { Authorization: 'Bearer ' + process.argv[4] } });
      logger.log('logged just before exit');
      if (process.argv[3] === 'crash') {
        logger.captureErrors();
        setTimeout(() => { throw new Error('node process crashed'); }, 10);
      }`,
    );
    const run = (mode: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, proxy.url, mode, server.adminKey], { cwd: root, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    proxy.mode = 'up';
    expect(await run('exit')).toBe(0);
    expect(await run('crash')).toBe(1);
    const rows = await server.rows<{ description: string; n: number }>(
      sql`select description, count(*)::int as n from events where description in ('logged just before exit', 'node process crashed') group by description order by description`,
    );
    expect(rows).toEqual([
      { description: 'logged just before exit', n: 2 },
      { description: 'node process crashed', n: 1 },
    ]);
  });
});
