/**
 * Fan-out: graphql-ws subscribers on the error feed (`subscription { errors { id message } }`) while
 * events arrive, against the server as `npm start` runs it, in its own process. The subscribers are
 * raw `ws` sockets in a third process (bench/fanout-clients.ts), so the server's figures are its own;
 * the three processes still share the machine's cores.
 *  1. memory: server RSS (and V8 heap) per subscriber with BENCH_SUBSCRIBERS (10,000) open: first the
 *     sockets alone (connection_init acknowledged), then with one subscription each;
 *  2. latency: BENCH_FANOUT (1,000) subscribers, 100 events/s for BENCH_SECONDS, sent as single-event
 *     `log` requests and again as `logBatch` requests of 10; from the write's acknowledgement (after
 *     commit) to receipt, p50 and p99; events lost; every subscriber in one order;
 *  3. saturation: BENCH_FANOUT subscribers, batches of 100 errors as fast as they are taken: deliveries/s.
 * The baseline in the same run is one subscriber (for memory: the bare sockets).
 *   BENCH_SUBSCRIBERS=10000 BENCH_SECONDS=10 npm run bench:fanout
 */
import { fork, type ChildProcess } from 'node:child_process';
import { execSync } from 'node:child_process';
import postgres from 'postgres';
import { BENCH_AUTH, fmt, freshBenchDatabase, gql, machine, startServer, type BenchServer } from './lib.js';

const HELD = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ERRORS = 'subscription { errors { id message } }';
const LOG = 'mutation($input: LogInput!) { log(input: $input) { event { id } } }';
const LOG_BATCH = 'mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded } }';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The subscribers' process: one request, one answer at a time. */
class Clients {
  private readonly child: ChildProcess = fork(new URL('./fanout-clients.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  private queue = Promise.resolve<unknown>(undefined);

  ask<T = any>(command: Record<string, unknown>): Promise<T> {
    const answer = this.queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          this.child.once('message', (message: any) => (message?.error ? reject(new Error(message.error)) : resolve(message as T)));
          this.child.send(command);
        }),
    );
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  stop(): void {
    this.child.kill();
  }
}

/** Opens `count` subscribers and waits until an error event reaches every one of them. */
async function subscribe(server: BenchServer, clients: Clients, count: number): Promise<void> {
  await clients.ask({ cmd: 'open', url: server.wsUrl, count, connectionParams: BENCH_AUTH });
  await clients.ask({ cmd: 'subscribe', query: ERRORS });
  await untilLive(server, clients, count);
}

async function untilLive(server: BenchServer, clients: Clients, count: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { log } = await gql(server.url, LOG, { input: { type: 'error', message: 'probe' } });
    const deadline = Date.now() + 2_000;
    let live = 0;
    while (Date.now() < deadline && live < count) {
      await sleep(100);
      ({ live } = await clients.ask<{ live: number }>({ cmd: 'live', id: log.event.id }));
    }
    if (live === count) break;
    if (attempt === 30) throw new Error(`only ${live} of ${count} subscribers are live`);
  }
  await clients.ask({ cmd: 'clear' });
}

interface Report {
  p50: number;
  p99: number;
  max: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  delivered: number;
  first: number;
  last: number;
  other: string[];
}

/**
 * Transactions the database has run (each statement outside a transaction is one). An idle
 * backend reports its statistics within 10 s (PGSTAT_IDLE_INTERVAL), hence the wait.
 */
async function transactions(): Promise<number> {
  await sleep(11_000);
  const [row] = await stats<{ n: string }[]>`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`;
  return Number(row!.n);
}

const LOG_BATCH_IDS = 'mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }';

/** Writes 100 events/s for SECONDS, `perWrite` events per request, and times each event to every subscriber. */
async function latency(server: BenchServer, count: number, perWrite: number) {
  const clients = new Clients();
  try {
    await subscribe(server, clients, count);
    const xacts = await transactions();
    const cpu = await cpuSeconds(server);
    const clientCpu = (await clients.ask<{ cpu: number }>({ cmd: 'count' })).cpu;
    const acked = new Map<string, number>();
    const writes: number[] = [];
    const started = performance.now();
    const sends: Array<Promise<void>> = [];
    const event = (i: number) => ({ type: 'error', message: `e${i}`, stackTrace: 'Error\n at x (a.js:1:1)' });
    for (let i = 0; i < SECONDS * 100; i += perWrite) {
      const wait = started + i * 10 - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = now();
      const write: Promise<string[]> =
        perWrite === 1
          ? gql(server.url, LOG, { input: event(i) }).then(({ log }) => [log.event.id])
          : gql(server.url, LOG_BATCH_IDS, { events: Array.from({ length: perWrite }, (_, j) => event(i + j)) }).then(({ logBatch }) =>
              logBatch.results.map((r: { event: { id: string } }) => r.event.id),
            );
      sends.push(
        write.then((ids) => {
          const at = now();
          for (const id of ids) acked.set(id, at);
          writes.push(at - sent);
        }),
      );
    }
    await Promise.all(sends);
    const expected = acked.size * count;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await clients.ask<{ delivered: number }>({ cmd: 'count' })).delivered < expected) await sleep(100);
    const [cpuEnd, loopDelay] = await metrics(server, 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds');
    const serverCpu = cpuEnd! - cpu;
    const perEvent = ((await transactions()) - xacts - 1) / acked.size; // less the first read of the statistics
    const clientCpuEnd = (await clients.ask<{ cpu: number }>({ cmd: 'count' })).cpu;
    const report = await clients.ask<Report>({ cmd: 'report', acked: [...acked] });
    writes.sort((a, b) => a - b);
    await clients.ask({ cmd: 'close' });
    return { ...report, expected, writeP50: writes[Math.floor(writes.length / 2)]!, serverCpu, clientCpu: clientCpuEnd - clientCpu, perEvent, loopDelayP99: loopDelay! * 1000 };
  } finally {
    clients.stop();
  }
}

async function saturation(server: BenchServer, count: number) {
  const clients = new Clients();
  try {
    await subscribe(server, clients, count);
    const cpu = await cpuSeconds(server);
    const clientCpu = (await clients.ask<{ cpu: number }>({ cmd: 'count' })).cpu;
    const batches = 20;
    const started = now();
    for (let b = 0; b < batches; b++) {
      await gql(server.url, LOG_BATCH, { events: Array.from({ length: 100 }, (_, i) => ({ type: 'error', message: `s${b}-${i}` })) });
    }
    const written = now();
    const expected = batches * 100 * count;
    const deadline = Date.now() + 120_000;
    let progress = { delivered: 0, last: started, ended: 0, cpu: clientCpu };
    while (Date.now() < deadline) {
      progress = await clients.ask({ cmd: 'count' });
      if (progress.delivered >= expected || progress.ended > 0) break;
      await sleep(50);
    }
    const serverCpu = (await cpuSeconds(server)) - cpu;
    await clients.ask({ cmd: 'close' });
    const seconds = (progress.last - started) / 1000;
    return { perSecond: progress.delivered / seconds, delivered: progress.delivered, expected, ended: progress.ended, writeSeconds: (written - started) / 1000, serverCpu, clientCpu: progress.cpu - clientCpu };
  } finally {
    clients.stop();
  }
}

/**
 * Figures of the server's own /metrics (prom-client's process and V8 metrics). Each scrape starts
 * the event-loop delay figures afresh, so those cover the time since the previous scrape.
 */
async function metrics(server: BenchServer, ...names: string[]): Promise<number[]> {
  const text = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
  return names.map((name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN));
}
const heapUsedMb = async (server: BenchServer) => (await metrics(server, 'nodejs_heap_size_used_bytes'))[0]! / 2 ** 20;
const cpuSeconds = async (server: BenchServer) => (await metrics(server, 'process_cpu_seconds_total'))[0]!;

async function memory(server: BenchServer) {
  const clients = new Clients();
  try {
    await sleep(1000);
    const idle = { rss: server.rssKb(), heap: await heapUsedMb(server) };
    await clients.ask({ cmd: 'open', url: server.wsUrl, count: HELD, connectionParams: BENCH_AUTH });
    await sleep(2000);
    const sockets = { rss: server.rssKb(), heap: await heapUsedMb(server) };
    await clients.ask({ cmd: 'subscribe', query: ERRORS });
    await untilLive(server, clients, HELD);
    await sleep(2000);
    const held = { rss: server.rssKb(), heap: await heapUsedMb(server) };
    await clients.ask({ cmd: 'close' });
    return { idle, sockets, held };
  } finally {
    clients.stop();
  }
}

const databaseUrl = await freshBenchDatabase('audit_bench_fanout');
const stats = postgres(databaseUrl, { max: 1, onnotice: () => {} });
const server = await startServer(databaseUrl, { SUBSCRIBER_BUFFER: '10000' });
try {
  console.log(`machine: ${machine()}; load before the run: ${execSync('uptime').toString().trim()}\n`);
  const { idle, sockets, held } = await memory(server);
  const perSocket = (sockets.rss - idle.rss) / HELD;
  const perSubscriber = (held.rss - idle.rss) / HELD;
  console.log(`memory, ${fmt(HELD)} subscribers held: server RSS ${fmt(idle.rss / 1024, 1)} → ${fmt(sockets.rss / 1024, 1)} (sockets) → ${fmt(held.rss / 1024, 1)} MiB (subscribed)`);
  console.log(`  per subscriber: ${fmt(perSubscriber, 1)} KB RSS (goal < 30 KB), of which the bare socket ${fmt(perSocket, 1)} KB (baseline; ratio ${fmt(perSubscriber / perSocket, 2)})`);
  console.log(`  V8 heap used: ${fmt(idle.heap, 1)} → ${fmt(sockets.heap, 1)} → ${fmt(held.heap, 1)} MiB = ${fmt(((held.heap - idle.heap) * 1024) / HELD, 1)} KB per subscriber`);
  await sleep(2000);

  // A warm write path (compiled code, cached types, an error group that exists) before anything is timed.
  for (let i = 0; i < 300; i++) await gql(server.url, LOG, { input: { type: 'error', message: `warm-up ${i}`, stackTrace: 'Error\n at x (a.js:1:1)' } });
  const line = (r: Awaited<ReturnType<typeof latency>>) =>
    `p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, max ${fmt(r.max, 1)} ms; lost ${fmt(r.lost)} of ${fmt(r.expected)}, duplicates ${r.duplicates}, out of order ${r.outOfOrder}; write p50 ${fmt(r.writeP50, 1)} ms; CPU: server ${fmt(r.serverCpu, 1)} s, subscribers ${fmt(r.clientCpu, 1)} s; server event-loop delay p99 ${fmt(r.loopDelayP99, 1)} ms; ${fmt(r.perEvent, 1)} database transactions per event`;
  // Single-event requests load the write path most; the client Logger sends batches (50 by default).
  for (const perWrite of [1, 10]) {
    const one = await latency(server, 1, perWrite);
    const many = await latency(server, FANOUT, perWrite);
    const how = perWrite === 1 ? 'single-event log requests' : `logBatch requests of ${perWrite}`;
    console.log(`latency, 100 events/s for ${SECONDS} s as ${how}, write acknowledged (after commit) → received:`);
    console.log(`  baseline, 1 subscriber: ${line(one)}`);
    console.log(`  ${fmt(FANOUT)} subscribers: ${line(many)}`);
    console.log(`  goal p99 < 100 ms, lost 0; p99 ratio to baseline ${fmt(many.p99 / one.p99, 2)}`);
    if (many.other.length) console.log(`  other messages: ${many.other.join(' | ')}`);
  }

  const satOne = await saturation(server, 1);
  const sat = await saturation(server, FANOUT);
  console.log(`saturation, batches of 100 errors as fast as they are taken (2,000 events):`);
  console.log(`  baseline, 1 subscriber: ${fmt(satOne.perSecond)} deliveries/s (${fmt(satOne.delivered)} of ${fmt(satOne.expected)}; writes took ${fmt(satOne.writeSeconds, 2)} s; CPU: server ${fmt(satOne.serverCpu, 1)} s, subscribers ${fmt(satOne.clientCpu, 1)} s)`);
  console.log(
    `  ${fmt(FANOUT)} subscribers: ${fmt(sat.perSecond)} deliveries/s (${fmt(sat.delivered)} of ${fmt(sat.expected)} delivered, ${sat.ended} ended; writes took ${fmt(sat.writeSeconds, 2)} s; CPU: server ${fmt(sat.serverCpu, 1)} s, subscribers ${fmt(sat.clientCpu, 1)} s) (goal 50,000/s); ratio to baseline ${fmt(sat.perSecond / satOne.perSecond, 1)}`,
  );
  console.log(`\nload after the run: ${execSync('uptime').toString().trim()}`);
} finally {
  await stats.end();
  await server.stop();
}
