import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';

/** Shared by the benchmarks: a fresh PostgreSQL database and the real server in a child process. */
/** The administrator key the benchmark servers start with (AUDIT_BOOTSTRAP_ADMIN_KEY). */
export const BENCH_KEY = 'bench-admin-key-0123456789abcdef';
export const BENCH_AUTH = { Authorization: `Bearer ${BENCH_KEY}` };

export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function freshBenchDatabase(name: string): Promise<string> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface BenchServer {
  url: string;
  wsUrl: string;
  /** The server process (for its CPU time: cpuSeconds). */
  pid: number;
  rssKb(): number;
  stop(): Promise<void>;
}

/**
 * The server as `npm start` runs it (tsx src/main.ts), on its own port, logging only warnings unless
 * `env` says otherwise; `quiet` discards its standard output (the log lines, when LOG_LEVEL is info).
 */
export async function startServer(databaseUrl: string, env: Record<string, string> = {}, { quiet = false } = {}): Promise<BenchServer> {
  const port = 4900 + Math.floor(Math.random() * 90);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'warn', AUDIT_BOOTSTRAP_ADMIN_KEY: BENCH_KEY, WRITE_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    pid: child.pid!,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function gql(url: string, query: string, variables?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', Authorization: `Bearer ${BENCH_KEY}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function machine(): string {
  return `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, Node ${process.version}`;
}

/** CPU seconds (user + system) the processes have used so far; a process that has ended counts 0. */
export function cpuSeconds(pids: Iterable<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ
}

/**
 * CPU time per unit of work, by process: the machine is shared, so wall-clock rates move with the
 * load while the CPU a piece of work costs moves much less. `measure` wraps the work; the database
 * backends are those connected to `database` at its start or end (a backend that came and went
 * within it is missed).
 */
export async function cpuCost<T>(
  admin: postgres.Sql,
  database: string,
  serverPid: number,
  work: () => Promise<T>,
): Promise<{ result: T; serverSeconds: number; postgresSeconds: number; clientSeconds: number }> {
  const backends = async () =>
    (await admin`select pid from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`).map((r) => r.pid as number);
  const before = await backends();
  const server0 = cpuSeconds([serverPid]);
  const pg0 = new Map(before.map((pid) => [pid, cpuSeconds([pid])]));
  const client0 = process.cpuUsage();
  const result = await work();
  const client = process.cpuUsage(client0);
  const serverSeconds = cpuSeconds([serverPid]) - server0;
  let postgresSeconds = 0;
  for (const pid of new Set([...before, ...(await backends())])) postgresSeconds += cpuSeconds([pid]) - (pg0.get(pid) ?? 0);
  return { result, serverSeconds, postgresSeconds, clientSeconds: (client.user + client.system) / 1e6 };
}
