import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  url: string;
  base: string;
  /** Every JSON log line the server printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  /** The administrator key it was started with (AUDIT_BOOTSTRAP_ADMIN_KEY), as request headers. */
  auth: { Authorization: string };
}

/**
 * Starts `src/main.ts` as its own process (as `npm start` does) and waits for its "ready" log line,
 * or, with a fixed PORT (and a LOG_LEVEL that hides that line), until /health answers.
 */
export async function startChildServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ChildServer> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const adminKey = env.AUDIT_BOOTSTRAP_ADMIN_KEY ?? `child-admin-${randomBytes(12).toString('hex')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AUDIT_BOOTSTRAP_ADMIN_KEY: adminKey, WRITE_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.url === 'string') {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    if (env.PORT && env.PORT !== '0') {
      const url = `http://127.0.0.1:${env.PORT}/graphql`;
      const poll = () =>
        fetch(url.replace(/graphql$/, 'health')).then(
          () => {
            clearTimeout(timer);
            resolve(url);
          },
          () => setTimeout(poll, 100),
        );
      poll();
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready: ${stderr}`));
    });
  });
  return { child, url, base: url.replace(/\/graphql$/, ''), logs, exited, auth: { Authorization: `Bearer ${adminKey}` } };
}
