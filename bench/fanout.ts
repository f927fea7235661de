/**
 * Fan-out: graphql-ws subscribers on the error feed while events arrive.
 *  1. memory: server RSS per subscriber with BENCH_SUBSCRIBERS (10,000) subscribers held open;
 *  2. latency: 1,000 subscribers, 100 events/s for BENCH_SECONDS; delivery latency from the
 *     acknowledgement of the write (after commit) to receipt, p50 and p99, and events lost;
 *  3. saturation: 1,000 subscribers, batches of 100 errors as fast as they are taken: deliveries/s.
 * The baseline in the same run is one subscriber: the latency of a feed nobody else shares.
 *   npm run bench:fanout
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BENCH_AUTH, fmt, freshBenchDatabase, gql, machine, percentile, startServer, type BenchServer } from './lib.js';

const HELD = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ERRORS = 'subscription { errors { id message } }';
const LOG = 'mutation($input: LogInput!) { log(input: $input) { event { id } } }';
const LOG_BATCH = 'mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }';

interface Subscriber {
  client: Client;
  received: Map<string, number>;
}

async function subscribers(server: BenchServer, count: number): Promise<Subscriber[]> {
  const list: Subscriber[] = [];
  for (let i = 0; i < count; i++) {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: BENCH_AUTH });
    const received = new Map<string, number>();
    client.subscribe<{ errors: { id: string } }>({ query: ERRORS }, {
      next: (message) => {
        if (message.data) received.set(message.data.errors.id, performance.now());
      },
      error: () => {},
      complete: () => {},
    });
    list.push({ client, received });
    if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Wait until every subscription is live: an error event reaches all of them.
  for (let attempt = 0; attempt < 100; attempt++) {
    const { log } = await gql(server.url, LOG, { input: { type: 'error', message: 'probe' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (list.every((s) => s.received.has(log.event.id))) break;
  }
  for (const s of list) s.received.clear();
  return list;
}

async function closeAll(list: Subscriber[]): Promise<void> {
  await Promise.all(list.map((s) => s.client.dispose()));
}

async function latency(server: BenchServer, count: number) {
  const subs = await subscribers(server, count);
  const acked = new Map<string, number>();
  const started = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < SECONDS * 100; i++) {
    const due = started + i * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(
      gql(server.url, LOG, { input: { type: 'error', message: `e${i}`, stackTrace: 'Error\n at x (a.js:1:1)' } }).then(({ log }) => {
        acked.set(log.event.id, performance.now());
      }),
    );
  }
  await Promise.all(sends);
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline && subs.some((s) => s.received.size < acked.size)) await new Promise((r) => setTimeout(r, 100));
  const latencies: number[] = [];
  let lost = 0;
  for (const s of subs) {
    for (const [id, at] of acked) {
      const got = s.received.get(id);
      if (got === undefined) lost++;
      else latencies.push(Math.max(0, got - at));
    }
  }
  await closeAll(subs);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), lost, expected: acked.size * count };
}

async function saturation(server: BenchServer, count: number) {
  const subs = await subscribers(server, count);
  const batches = 20;
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    await gql(server.url, LOG_BATCH, { events: Array.from({ length: 100 }, (_, i) => ({ type: 'error', message: `s${b}-${i}` })) });
  }
  const expected = batches * 100;
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline && subs.some((s) => s.received.size < expected)) await new Promise((r) => setTimeout(r, 20));
  let lastReceipt = started;
  for (const s of subs) for (const at of s.received.values()) if (at > lastReceipt) lastReceipt = at;
  const elapsed = (lastReceipt - started) / 1000;
  const delivered = subs.reduce((n, s) => n + s.received.size, 0);
  await closeAll(subs);
  return { perSecond: delivered / elapsed, delivered, expected: expected * count };
}

const databaseUrl = await freshBenchDatabase('audit_bench_fanout');
const server = await startServer(databaseUrl, { SUBSCRIBER_BUFFER: '10000' });
try {
  console.log(`machine: ${machine()}\n`);
  const idle = server.rssKb();
  const held = await subscribers(server, HELD);
  const loaded = server.rssKb();
  console.log(`memory: ${fmt(HELD)} subscribers: server RSS ${fmt(idle / 1024, 1)} → ${fmt(loaded / 1024, 1)} MiB = ${fmt((loaded - idle) / HELD, 1)} KB per subscriber (goal < 30 KB)`);
  await closeAll(held);
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const one = await latency(server, 1);
  const many = await latency(server, 1000);
  console.log(`latency, 100 events/s for ${SECONDS} s, commit acknowledged → received:`);
  console.log(`  baseline, 1 subscriber:  p50 ${fmt(one.p50, 1)} ms, p99 ${fmt(one.p99, 1)} ms, lost ${one.lost}`);
  console.log(`  1,000 subscribers:       p50 ${fmt(many.p50, 1)} ms, p99 ${fmt(many.p99, 1)} ms, lost ${many.lost} of ${fmt(many.expected)} (goal p99 < 100 ms, lost 0); p99 ratio to baseline ${fmt(many.p99 / one.p99, 1)}`);
  const sat = await saturation(server, 1000);
  console.log(`saturation, 1,000 subscribers: ${fmt(sat.perSecond)} deliveries/s (${fmt(sat.delivered)} of ${fmt(sat.expected)} delivered; goal 50,000/s)`);
} finally {
  await server.stop();
}
