import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExportArgs } from '../src/cli/export.js';
import { exportEvents } from '../src/export/export-events.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
const TOTAL = 100_000;

// A full collection on demand, so that what is measured is live memory, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = (bytes: number) => (bytes / 1e6).toFixed(1);

beforeAll(async () => {
  server = await startTestServer();
  // 100,000 events with a parameter each, written in bulk (the ingest path is not what is measured).
  await server.rows(sql`insert into users (login) values ('bulk-a'), ('bulk-b')`);
  await server.rows(sql`insert into event_parameters (event_type_id, name) select id, 'n' from event_types where name = 'log'`);
  // In chunks: one long writing transaction would hold back the committed feed of every database
  // on a shared PostgreSQL cluster (its horizon is the cluster's oldest running transaction).
  await server.services.partitions.ensureFor([new Date('2026-01-01T00:00:00Z'), new Date(Date.parse('2026-01-01T00:00:00Z') + TOTAL * 1000)]);
  for (let from = 1; from <= TOTAL; from += 10_000) {
    await server.rows(sql`
      insert into events (id, occurred_at, event_type_id, source, description, user_id)
      select nextval('events_id_seq'), timestamptz '2026-01-01' + g * interval '1 second', (select id from event_types where name = 'log'), 'API',
             'bulk event ' || g || ' ' || repeat('x', 150), (select id from users where login = case when g % 2 = 0 then 'bulk-a' else 'bulk-b' end)
      from generate_series(${from}::int, ${from + 9_999}::int) g`);
    await server.rows(sql`
      insert into event_parameter_values (event_id, occurred_at, parameter_id, value)
      select e.id, e.occurred_at, (select p.id from event_parameters p join event_types t on t.id = p.event_type_id where t.name = 'log' and p.name = 'n'), e.id::text
      from events e where e.occurred_at between timestamptz '2026-01-01' + ${from}::int * interval '1 second'
                                           and timestamptz '2026-01-01' + ${from + 9_999}::int * interval '1 second'`);
  }
  await server.rows(sql`analyze`);
  await server.services.ingestor.log({ type: 'error', message: 'needs, "quoting"\nin CSV', user: '=cmd', stackTrace: 'Error: x\n  at y', occurredAt: new Date('2026-03-01T00:00:00Z') });
}, 300_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('export', () => {
  it(`streams ${TOTAL.toLocaleString('en')} events as JSON lines with flat memory`, { timeout: 600_000 }, async () => {
    const file = join(dir, 'all.jsonl');
    const out = createWriteStream(file);
    gc();
    const baseline = process.memoryUsage();
    // Live heap after a full collection, every 20 pages (10,000 events), and the peak RSS.
    const liveHeap: number[] = [];
    let peakRss = baseline.rss;
    const started = Date.now();
    const written = await exportEvents(server.services.db, { types: ['log'] }, 'jsonl', out, {
      pageSize: 500,
      onPage: (n) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (n % 10_000 === 0) {
          gc();
          liveHeap.push(process.memoryUsage().heapUsed - baseline.heapUsed);
        }
      },
    });
    out.end();
    await finished(out);
    const seconds = (Date.now() - started) / 1000;
    const bytes = statSync(file).size;
    const rssGrowth = peakRss - baseline.rss;
    console.log(
      `export of ${written} events: ${MB(bytes)} MB in ${seconds.toFixed(1)} s; live heap growth after each 10,000 events (MB): ${liveHeap.map(MB).join(' ')}; peak RSS growth ${MB(rssGrowth)} MB`,
    );
    expect(written).toBe(TOTAL);
    expect(liveHeap).toHaveLength(10);
    // Flat: the live heap after 100,000 events is no larger than after 10,000 (give or take 5 MB),
    // and far below the output's size, which holding the events would exceed several times.
    expect(bytes).toBeGreaterThan(30e6);
    expect(Math.max(...liveHeap)).toBeLessThan(15e6);
    expect(liveHeap.at(-1)! - liveHeap[0]!).toBeLessThan(5e6);
    // RSS: on PostgreSQL it is our process alone; embedded, it also holds PGlite's own memory, which
    // grows with what it reads (seen 23–154 MB here), so the live heap above is the measure there.
    // Holding 100,000 events as objects would take several hundred MB either way.
    expect(rssGrowth).toBeLessThan(process.env.DATABASE_URL ? 150e6 : 350e6);

    // Every event once, newest first, complete.
    let count = 0;
    let previous = Infinity;
    const seen = new Set<string>();
    for await (const line of createInterface({ input: createReadStream(file) })) {
      const record = JSON.parse(line);
      const at = Date.parse(record.timestamp);
      expect(at).toBeLessThanOrEqual(previous);
      previous = at;
      seen.add(record.id);
      if (count++ === 0) expect(record).toMatchObject({ type: 'log', level: 'info', user: 'bulk-a', params: { n: record.id } });
    }
    expect(count).toBe(TOTAL);
    expect(seen.size).toBe(TOTAL);
  });

  it('writes CSV with a header, quoting and formula-safe text, filtered from the command line', async () => {
    const { filter, format } = parseExportArgs(['--format', 'csv', '--errors-only', '--since', '2026-02-01T00:00:00Z', '--type', 'error,log']);
    expect(format).toBe('csv');
    const file = join(dir, 'errors.csv');
    const out = createWriteStream(file);
    expect(await exportEvents(server.services.db, filter, format, out)).toBe(1);
    out.end();
    await finished(out);
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    const [header, ...rows] = text.split('\r\n').filter(Boolean);
    expect(header).toBe('id,timestamp,recordedAt,type,category,level,user,sessionId,source,message,durationMs,errorMessage,stackTrace,fingerprint,params');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(`,2026-03-01T00:00:00.000Z,`);
    expect(rows[0]).toContain(`,error,error,error,'=cmd,,API,"needs, ""quoting""\nin CSV",`);
  });
});
