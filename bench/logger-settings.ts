/**
 * logBatch throughput over HTTP with logger settings in force vs none, in one run.
 *
 *   npm run bench:settings                       # embedded PGlite in memory
 *   DATABASE_URL=postgres://… npm run bench:settings   # a throw-away database on that server
 *   npm run bench:settings -- --batches 48 --size 250 [--no-settings]
 *
 * The settings are chosen so that every benchmark event is still recorded: both phases write the
 * same rows, and the difference is the cost of deciding. Phases alternate batch by batch so that
 * drift (caches warming, the machine's other load) falls on both alike. `--no-settings` runs the
 * same with no settings in either phase: the noise floor of the machine.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { openDatabase, runMigrations, type Database } from '../src/db/client.js';
import { loadEnv } from '../src/env.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services.js';
import { bootstrapCredentials } from '../src/auth/bootstrap.js';

const BENCH_KEY = 'bench-admin-key-0123456789abcdef';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '48' },
    size: { type: 'string', default: '250' },
    /** Give neither instance settings: measures how far apart two alike instances are (noise). */
    'no-settings': { type: 'boolean', default: false },
  },
});
const BATCHES = Number(args.batches);
const SIZE = Number(args.size);
const USERS = 200;
const TYPES = ['query-start', 'query-created', 'project-opened', 'main-menu-item-click', 'table-produced', 'script-start'];

async function open(): Promise<{ database: Database; drop: () => Promise<void>; label: string }> {
  const env = loadEnv();
  if (!env.DATABASE_URL) return { database: await openDatabase({ dataDir: 'memory://' }), drop: async () => {}, label: 'embedded PGlite (memory)' };
  const name = `audit_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    database: await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused' }),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
    label: 'PostgreSQL',
  };
}

const TEAMS = [0, 1, 2, 3].flatMap((d) => [0, 1, 2, 3].map((t) => `team-${d}-${t}`));

/** Settings that record every benchmark type (see the header), at every kind of target. */
const SETTINGS: Array<{ target: Record<string, string> | null; settings: Record<string, unknown> }> = [
  { target: null, settings: { level: 'CUSTOM', typesOff: ['dialog-ok'], categoriesOn: ['package'] } },
  ...[0, 1, 2, 3].map((d) => ({ target: { group: `dept-${d}` }, settings: { level: 'CUSTOM', typesOff: ['viewer-rendered'] } })),
  ...TEAMS.filter((_, i) => i % 2 === 0).map((team) => ({ target: { group: team }, settings: { level: 'VERBOSE' } })),
  ...Array.from({ length: 20 }, (_, u) => ({ target: { user: `user-${u * 10}` }, settings: { level: 'STANDARD' } })),
];

async function main() {
  const started = performance.now();
  const { database, drop, label } = await open();
  await runMigrations(database);
  const env = loadEnv({ LOG_LEVEL: 'silent', MAX_BATCH_SIZE: String(Math.max(SIZE, 1000)), AUDIT_BOOTSTRAP_ADMIN_KEY: BENCH_KEY, WRITE_RATE_LIMIT: '0' });
  const services = await createServices(database, env, createLogger('silent'));
  await bootstrapCredentials(services.db, { host: '127.0.0.1', adminKey: BENCH_KEY, jwtConfigured: false });
  const app = buildApp(services);
  const { url } = await app.start(0, '127.0.0.1');
  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', Authorization: `Bearer ${BENCH_KEY}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };

  // 4 departments ⊃ 4 teams each; three quarters of the users in a team. Groups alone cost nothing.
  for (let d = 0; d < 4; d++) {
    const children = TEAMS.filter((team) => team.startsWith(`team-${d}-`));
    for (const name of [`dept-${d}`, ...children]) await gql(`mutation($n: String!) { upsertGroup(name: $n) { name } }`, { n: name });
    await gql(`mutation($g: String!, $c: [String!]) { setGroupMembers(group: $g, groups: $c) { name } }`, { g: `dept-${d}`, c: children });
  }
  for (const [i, team] of TEAMS.entries()) {
    const members = Array.from({ length: USERS }, (_, u) => u).filter((u) => u % 4 !== 3 && u % TEAMS.length === i).map((u) => `user-${u}`);
    await gql(`mutation($g: String!, $u: [String!]) { setGroupMembers(group: $g, users: $u) { name } }`, { g: team, u: members });
  }
  // The settings go in through the API once; between batches they are switched off and on by moving
  // the rows aside (one statement each way, then the same reload a NOTIFY causes), so that switching
  // costs no mutation traffic under the machine's load.
  for (const s of args['no-settings'] ? [] : SETTINGS) {
    await gql(`mutation($t: LoggerSettingTargetInput, $s: LoggerSettingsInput!) { setLoggerSettings(target: $t, settings: $s) { id } }`, { t: s.target, s: s.settings });
  }
  await database.db.execute(sql`create table bench_settings as select * from logger_settings`);
  const setPhase = async (phase: 'none' | 'settings') => {
    await database.db.execute(sql`delete from logger_settings`);
    if (phase === 'settings') await database.db.execute(sql`insert into logger_settings select * from bench_settings`);
    await services.recording.reload();
  };
  console.error(`setup: ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { recorded leftOut } }`;
  let serial = 0;
  const batch = () =>
    Array.from({ length: SIZE }, () => {
      const n = serial++;
      return {
        type: TYPES[n % TYPES.length],
        user: `user-${(n * 7) % USERS}`,
        message: `bench event ${n}`,
        parameters: { entity: { type: 'query', id: `q-${n % 500}` }, rows: n % 1000 },
      };
    });

  const totals = { none: { events: 0, ms: 0 }, settings: { events: 0, ms: 0 } };
  const run = async (phase: 'none' | 'settings', count: number, measured: boolean) => {
    await setPhase(phase);
    const start = performance.now();
    for (let b = 0; b < count; b++) {
      const result = (await gql(LOG_BATCH, { events: batch() })).logBatch;
      if (result.recorded !== SIZE) throw new Error(`phase ${phase}: ${result.leftOut} of ${SIZE} events left out; the settings must record every benchmark event`);
    }
    const ms = performance.now() - start;
    if (measured) {
      totals[phase].events += count * SIZE;
      totals[phase].ms += ms;
    }
    return ms;
  };

  await run('none', 2, false); // warm-up: parameters, entities, JIT
  await run('settings', 2, false);
  // Batch by batch, in pairs whose order alternates: a burst of the machine's other load then falls
  // on both phases alike, and each pair gives a ratio of its own.
  const pairRatios: number[] = [];
  for (let pair = 0; pair < BATCHES; pair++) {
    const order: Array<'none' | 'settings'> = pair % 2 === 0 ? ['none', 'settings'] : ['settings', 'none'];
    const ms = { none: 0, settings: 0 };
    for (const phase of order) ms[phase] = await run(phase, 1, true);
    pairRatios.push(ms.none / ms.settings);
  }
  // Geometric mean: each order of the pairs counts alike, and one burst weighs as one pair.
  const pairedRatio = Math.exp(pairRatios.reduce((sum, r) => sum + Math.log(r), 0) / pairRatios.length);

  // The decision alone, in process, with the settings in force: what the write path adds per event,
  // free of the HTTP and database noise of a shared machine.
  await setPhase('settings');
  const types = await services.types.resolve(TYPES);
  const candidates = batch().concat(...Array.from({ length: 399 }, batch)).map((e) => ({
    type: types.get(e.type!)!,
    userLogin: e.user,
    sessionId: null,
    occurredAt: new Date(),
    isError: false,
  }));
  const decideStart = performance.now();
  const decided = services.recording.decide(candidates);
  const decideMs = performance.now() - decideStart;
  if (decided.leftOut.some((r) => r !== null)) throw new Error('the settings must record every benchmark event');

  const rate = (p: { events: number; ms: number }) => (p.events / p.ms) * 1000;
  const none = rate(totals.none);
  const withSettings = rate(totals.settings);
  const settingsCount = args['no-settings'] ? 0 : SETTINGS.length;
  console.log(`database: ${label}; ${BATCHES} batches × ${SIZE} events per phase, alternating; ${settingsCount} settings, ${TEAMS.length + 4} groups`);
  console.log(`no settings:       ${none.toFixed(0)} events/s (${totals.none.events} events in ${(totals.none.ms / 1000).toFixed(2)} s)`);
  console.log(`settings in force: ${withSettings.toFixed(0)} events/s (${totals.settings.events} events in ${(totals.settings.ms / 1000).toFixed(2)} s)`);
  console.log(`ratio (settings / none): ${(withSettings / none).toFixed(3)}; geometric mean of the ${pairRatios.length} paired batch ratios: ${pairedRatio.toFixed(3)}`);
  const perEventUs = (decideMs * 1000) / candidates.length;
  console.log(
    `decision alone: ${perEventUs.toFixed(2)} µs per event over ${candidates.length} events (${((perEventUs / (1e6 / none)) * 100).toFixed(2)}% of an event's time at the no-settings throughput)`,
  );

  await app.stop();
  await services.recording.stop();
  await database.close();
  await drop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
