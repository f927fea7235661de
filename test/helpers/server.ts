import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { createClient, type Client } from 'graphql-ws';
import postgres from 'postgres';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { bootstrapCredentials } from '../../src/auth/bootstrap.js';
import { openDatabase, queryRows, runMigrations, type Database } from '../../src/db/client.js';
import { loadEnv, type Env } from '../../src/env.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export interface TestServer {
  url: string;
  wsUrl: string;
  services: Services;
  database: Database;
  /** The database's URL in PostgreSQL mode (undefined for the embedded database). */
  databaseUrl: string | undefined;
  /** The administrator key every request sends unless told otherwise (AUDIT_BOOTSTRAP_ADMIN_KEY). */
  adminKey: string;
  /**
   * POSTs one operation over real HTTP, as the administrator unless `headers` has an
   * `Authorization` of its own (an empty one sends no credential).
   */
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** `gql` and `wsClient` with this bearer token, or with no credential at all (null). */
  as(token: string | null): Pick<TestServer, 'gql' | 'wsClient'>;
  /** Rows of a raw query run directly against this server's database. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** A graphql-ws client on this server (closed by stop()); the administrator's unless `connectionParams` are given. */
  wsClient(connectionParams?: Record<string, unknown>): Client;
  /**
   * Another server instance over the SAME database: embedded, the same PGlite; PostgreSQL, its own
   * connection pool (a real second instance). Its stop() leaves the database to the first server.
   */
  startSecondInstance(): Promise<TestServer>;
  stop(): Promise<void>;
}

/** A fresh database for one test file: an embedded PGlite from the template, or a new PostgreSQL database. */
export async function freshDatabase(): Promise<{ database: Database; drop: () => Promise<void>; url?: string }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const template = readFileSync(inject('pgliteTemplate'));
    const database = await openDatabase({ dataDir: 'memory://', loadDataDir: new Blob([template]) });
    await runMigrations(database);
    return { database, drop: async () => {} };
  }
  const name = `audit_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused', poolSize: 5 });
  await runMigrations(database);
  return {
    database,
    url: url.toString(),
    drop: async () => {
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** A database a test brought (its own PostgreSQL): migrated, not dropped at the end. */
async function givenDatabase(databaseUrl: string): Promise<{ database: Database; drop: () => Promise<void>; url: string }> {
  const database = await openDatabase({ databaseUrl, dataDir: 'unused', poolSize: 5 });
  await runMigrations(database);
  return { database, drop: async () => {}, url: databaseUrl };
}

/**
 * Starts the real server on port 0 over a fresh database (or over `options.databaseUrl`, migrated
 * and left in place: a test's own private PostgreSQL).
 */
export async function startTestServer(envOverrides: Record<string, string> = {}, options: { databaseUrl?: string } = {}): Promise<TestServer> {
  const adminKey = `test-admin-${randomBytes(12).toString('hex')}`;
  const env: Env = loadEnv({ LOG_LEVEL: 'silent', AUDIT_BOOTSTRAP_ADMIN_KEY: adminKey, ...envOverrides });
  const { database, drop, url: databaseUrl } = options.databaseUrl ? await givenDatabase(options.databaseUrl) : await freshDatabase();
  return serve(env, database, databaseUrl, async () => {
    await database.close();
    await drop();
  });
}

async function serve(env: Env, database: Database, databaseUrl: string | undefined, release: () => Promise<void>): Promise<TestServer> {
  const adminKey = env.AUDIT_BOOTSTRAP_ADMIN_KEY!;
  const services = await createServices(database, env, createLogger(env.LOG_LEVEL));
  await bootstrapCredentials(services.db, { host: '127.0.0.1', adminKey: env.AUDIT_BOOTSTRAP_ADMIN_KEY, jwtConfigured: services.auth.jwtConfigured });
  const app = buildApp(services);
  const { url } = await app.start(0, '127.0.0.1');
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const bearer = (token: string | null) => (token ? { Authorization: `Bearer ${token}` } : {});
  const gqlAs = (token: string | null): TestServer['gql'] => async (query, variables, headers = {}) => {
    const explicit = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
    const sent = Object.fromEntries(Object.entries({ ...(explicit ? {} : bearer(token)), ...headers }).filter(([, v]) => v !== ''));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...sent },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };
  const wsClientAs = (token: string | null): TestServer['wsClient'] => (connectionParams) => {
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: connectionParams ?? bearer(token) });
    clients.push(client);
    return client;
  };
  return {
    url,
    wsUrl,
    services,
    database,
    databaseUrl,
    adminKey,
    gql: gqlAs(adminKey),
    as: (token) => ({ gql: gqlAs(token), wsClient: wsClientAs(token) }),
    rows: (query) => queryRows(database.db, query),
    wsClient: wsClientAs(adminKey),
    async startSecondInstance() {
      if (!databaseUrl) return serve(env, database, undefined, async () => {});
      const second = await openDatabase({ databaseUrl, dataDir: 'unused', poolSize: 3 });
      return serve(env, second, databaseUrl, () => second.close());
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      await services.close();
      await release();
    },
  };
}

/** Collects what a subscription yields until `count` items arrived or `timeoutMs` passed. */
export function subscribe<T = any>(client: Client, query: string, variables?: Record<string, unknown>) {
  const received: GraphQLResponse<T>[] = [];
  const waiters: Array<() => void> = [];
  let completed = false;
  let failure: unknown = null;
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        received.push(value as GraphQLResponse<T>);
        waiters.splice(0).forEach((w) => w());
      },
      error: (error) => {
        failure = error;
        completed = true;
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => {
        completed = true;
        waiters.splice(0).forEach((w) => w());
      },
    },
  );
  return {
    received,
    get completed() {
      return completed;
    },
    get failure() {
      return failure;
    },
    unsubscribe,
    /** Resolves when `count` messages arrived (or the stream ended); rejects after the timeout. */
    async waitFor(count: number, timeoutMs = 10_000): Promise<GraphQLResponse<T>[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && !completed) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`expected ${count} messages, got ${received.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
  };
}

/** Waits until the server has exactly `count` live subscriptions (a subscription is live once counted). */
export async function untilSubscribed(server: TestServer, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.services.fanout.subscribers !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} subscribers, have ${server.services.fanout.subscribers}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { sql };
