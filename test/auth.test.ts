import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapBanner, bootstrapCredentials, isLoopback, RefuseToStart } from '../src/auth/bootstrap.js';
import { sql, startTestServer, subscribe, untilSubscribed, type TestServer } from './helpers/server.js';

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long';
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUDIT_JWT_SECRET: SECRET });
});
afterAll(() => server?.stop());

const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name prefix scopes user expiresAt revokedAt } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const WHO_CAN_READ = `{ eventTypes(category: "audit") { name } }`;
const LOG = `mutation { log(input: { message: "hi" }) { recorded } }`;

async function createKey(input: Record<string, unknown>) {
  const res = await server.gql(CREATE, { input });
  expect(res.errors).toBeUndefined();
  return res.data.createApiKey as { key: string; apiKey: { id: string; prefix: string; scopes: string[] } };
}

const jwt = (claims: Record<string, unknown>, secret = SECRET, expires = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expires).sign(new TextEncoder().encode(secret));

describe('API keys', () => {
  it('shows a new key once, stores only its hash, and honours its scopes', async () => {
    const { key, apiKey } = await createKey({ name: 'ingest', scopes: ['AUDIT_WRITE'] });
    expect(key).toMatch(/^audit_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.scopes).toEqual(['AUDIT_WRITE']);
    const stored = await server.rows<{ hash: string }>(sql`select hash from api_keys where id = ${apiKey.id}`);
    expect(stored[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const dump = JSON.stringify(await server.rows(sql`select * from api_keys`));
    expect(dump).not.toContain(key);

    const asKey = server.as(key);
    expect((await asKey.gql(LOG)).data.log.recorded).toBe(true);
    const read = await asKey.gql(WHO_CAN_READ);
    expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const listed = await server.gql(`{ apiKeys { id name prefix } }`);
    expect(listed.data.apiKeys.map((k: { id: string }) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(listed)).not.toContain(key);
  });

  it('refuses a missing, unknown, revoked or expired key with UNAUTHENTICATED', async () => {
    expect((await server.as(null).gql(WHO_CAN_READ)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await server.as('audit_not-a-real-key-at-all').gql(WHO_CAN_READ)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const { key, apiKey } = await createKey({ name: 'short-lived', scopes: ['AUDIT_READ'] });
    expect((await server.as(key).gql(WHO_CAN_READ)).data.eventTypes).toContainEqual({ name: 'audit-log-viewed' });
    const revoked = await server.gql(REVOKE, { id: apiKey.id });
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
    const after = await server.as(key).gql(WHO_CAN_READ);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toContain('revoked');

    const expiring = await createKey({ name: 'expiring', scopes: ['AUDIT_READ'], expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await server.rows(sql`update api_keys set expires_at = now() - interval '1 second' where id = ${expiring.apiKey.id}`);
    expect((await server.as(expiring.key).gql(WHO_CAN_READ)).errors?.[0]?.message).toContain('expired');
  });

  it('rejects bad input: unknown user-less key without scopes, an expiry in the past', async () => {
    const none = await server.gql(CREATE, { input: { name: 'nothing', scopes: [] } });
    expect(none.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scopes' });
    const past = await server.gql(CREATE, { input: { name: 'past', scopes: ['AUDIT_READ'], expiresAt: '2020-01-01T00:00:00Z' } });
    expect(past.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const unknown = await server.gql(REVOKE, { id: '00000000-0000-0000-0000-000000000000' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('closes the WebSockets of a revoked key, and refuses it when a socket opens', async () => {
    const { key, apiKey } = await createKey({ name: 'watcher', scopes: ['AUDIT_READ'] });
    const before = server.services.fanout.subscribers;
    const feed = subscribe(server.as(key).wsClient(), `subscription { events { id } }`);
    await untilSubscribed(server, before + 1);
    await server.gql(REVOKE, { id: apiKey.id });
    const started = Date.now();
    // The feed may first receive the api-key-revoked event itself; what matters is that it ends.
    while (!feed.completed && Date.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(feed.completed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((feed.failure as { code?: number } | null)?.code).toBe(4403);
    await untilSubscribed(server, before);

    const again = subscribe(server.as(key).wsClient(), `subscription { events { id } }`);
    await again.waitFor(1, 5_000).catch(() => undefined);
    expect(again.completed).toBe(true);
    expect((again.failure as { code?: number } | null)?.code).toBe(4403);
  });
});

describe('API keys are cached per instance, and revocation and expiry still apply at once', () => {
  let second: TestServer;
  beforeAll(async () => {
    second = await server.startSecondInstance();
  });
  afterAll(() => second?.stop());

  it('a key created on one instance works on the other at once; revoked on one, it is refused on the very next request on both', async () => {
    const { key, apiKey } = await createKey({ name: 'cached', scopes: ['AUDIT_READ'] });
    for (let i = 0; i < 3; i++) {
      expect((await second.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
      expect((await server.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    }
    // Revoked through the second instance: refused on it at once, and on the first by its NOTIFY.
    expect((await second.gql(REVOKE, { id: apiKey.id })).data.revokeApiKey.revokedAt).not.toBeNull();
    const onSecond = await second.as(key).gql(WHO_CAN_READ);
    const onFirst = await server.as(key).gql(WHO_CAN_READ);
    expect(onSecond.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(onFirst.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(onFirst.errors?.[0]?.message).toContain('revoked');
  });

  it('a cached key is refused once it expires', async () => {
    const expiresAt = new Date(Date.now() + 1_500);
    const { key } = await createKey({ name: 'expires soon', scopes: ['AUDIT_READ'], expiresAt: expiresAt.toISOString() });
    expect((await server.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    expect((await second.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now()) + 10));
    for (const instance of [server, second]) {
      const res = await instance.as(key).gql(WHO_CAN_READ);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message).toContain('expired');
    }
  });

  it('forgets every key when its LISTEN connection starts again (revocations may have been missed)', async () => {
    const { key, apiKey } = await createKey({ name: 'missed revocation', scopes: ['AUDIT_READ'] });
    expect((await server.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    // Revoked behind the service's back, as if its NOTIFY had been lost: the cache still answers…
    await server.rows(sql`update api_keys set revoked_at = now() where id = ${apiKey.id}`);
    expect((await server.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    // …until listening restarts, which is when notifications can have been lost.
    await server.services.auth.stop();
    await server.services.auth.start();
    expect((await server.as(key).gql(WHO_CAN_READ)).errors?.[0]?.message).toContain('revoked');
  });
});

describe('JWTs', () => {
  it('accepts an HMAC-signed JWT: sub is the user, scope the scopes, groups the groups', async () => {
    const token = await jwt({ sub: 'alice', scope: 'audit:read audit:write', groups: ['analysts'] });
    const res = await server.as(token).gql(`{ eventTypes(category: "audit") { name } }`);
    expect(res.errors).toBeUndefined();
    expect((await server.as(token).gql(LOG)).data.log.recorded).toBe(true);
    const admin = await server.as(token).gql(`{ apiKeys { id } }`);
    expect(admin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a JWT with a bad signature or past its expiry', async () => {
    const forged = await jwt({ sub: 'mallory', scope: 'audit:admin' }, 'another-secret-that-is-at-least-32-chars-long');
    const bad = await server.as(forged).gql(WHO_CAN_READ);
    expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const old = await new SignJWT({ sub: 'alice', scope: 'audit:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(SECRET));
    const expired = await server.as(old).gql(WHO_CAN_READ);
    expect(expired.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    expect(expired.errors?.[0]?.message).toContain('expired');
  });

  it('authenticates a graphql-ws socket from its connection parameters', async () => {
    const token = await jwt({ sub: 'alice', scope: 'audit:read' });
    const before = server.services.fanout.subscribers;
    const feed = subscribe(server.wsClient({ Authorization: `Bearer ${token}` }), `subscription { events(filter: { text: "over ws" }) { message } }`);
    await untilSubscribed(server, before + 1);
    await server.gql(`mutation { log(input: { message: "seen over ws" }) { recorded } }`);
    const [message] = await feed.waitFor(1);
    expect(message!.data.events.message).toBe('seen over ws');
    feed.unsubscribe();
    await untilSubscribed(server, before);
  });
});

describe('expiry', () => {
  /** A live feed with `token`, followed until the server ends it (the expiries below are seconds away). */
  async function feedUntilClosed(client: ReturnType<TestServer['wsClient']>) {
    const feed = subscribe(client, `subscription { events(filter: { text: "nothing logs this" }) { id } }`);
    const deadline = Date.now() + 30_000;
    while (!feed.completed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return feed.failure as { code?: number; reason?: string } | null;
  }

  it('closes the WebSocket of an API key when the key expires, and refuses its requests from then on', async () => {
    const { key } = await createKey({ name: 'expires soon', scopes: ['AUDIT_READ'], expiresAt: new Date(Date.now() + 6_000).toISOString() });
    expect((await server.as(key).gql(WHO_CAN_READ)).errors).toBeUndefined();
    expect(await feedUntilClosed(server.as(key).wsClient())).toMatchObject({ code: 4403, reason: 'API key expired' });
    const after = await server.as(key).gql(WHO_CAN_READ);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toContain('has expired');
  });

  it('closes the WebSocket of a JWT at its exp, on whichever instance holds it', async () => {
    const second = await server.startSecondInstance();
    try {
      const exp = Math.floor(Date.now() / 1000) + 6;
      const token = await new SignJWT({ sub: 'alice', scope: 'audit:read' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
      expect((await second.as(token).gql(WHO_CAN_READ)).errors).toBeUndefined();
      const [here, there] = await Promise.all([feedUntilClosed(server.as(token).wsClient()), feedUntilClosed(second.as(token).wsClient())]);
      expect(here).toMatchObject({ code: 4403, reason: 'JWT expired' });
      expect(there).toMatchObject({ code: 4403, reason: 'JWT expired' });
      expect((await second.as(token).gql(WHO_CAN_READ)).errors?.[0]?.message).toContain('has expired');
    } finally {
      await second.stop();
    }
  });

  it('closes the WebSocket of a viewer token when it expires', async () => {
    const res = await server.gql(`mutation { createViewerToken(entity: { type: "query", id: "expiring" }, ttlSeconds: 6) { token } }`);
    const token = res.data.createViewerToken.token as string;
    expect((await server.as(token).gql(`{ events { nodes { id } } }`)).errors).toBeUndefined();
    expect(await feedUntilClosed(server.as(token).wsClient())).toMatchObject({ code: 4403, reason: 'Viewer token expired' });
    expect((await server.as(token).gql(`{ events { nodes { id } } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('first start', () => {
  it('creates and returns an administrator key when there is none, only once, and only on loopback', async () => {
    await server.rows(sql`create table api_keys_saved as select * from api_keys`);
    await server.rows(sql`delete from api_keys`);
    try {
      await expect(bootstrapCredentials(server.services.db, { host: '0.0.0.0', jwtConfigured: false })).rejects.toBeInstanceOf(RefuseToStart);
      expect((await bootstrapCredentials(server.services.db, { host: '0.0.0.0', jwtConfigured: true })).createdKey).toBeNull();
      const first = await bootstrapCredentials(server.services.db, { host: '127.0.0.1', jwtConfigured: false });
      expect(first.createdKey).toMatch(/^audit_/);
      expect((await bootstrapCredentials(server.services.db, { host: '127.0.0.1', jwtConfigured: false })).createdKey).toBeNull();
      const admin = await server.as(first.createdKey).gql(`{ apiKeys { name scopes } }`);
      expect(admin.data.apiKeys).toEqual([{ name: 'bootstrap administrator', scopes: ['AUDIT_READ', 'AUDIT_WRITE', 'AUDIT_ADMIN'] }]);
      const banner = bootstrapBanner(first.createdKey!, 'http://127.0.0.1:4000/graphql');
      expect(banner).toContain(`{"Authorization": "Bearer ${first.createdKey}"}`);
    } finally {
      await server.rows(sql`delete from api_keys`);
      await server.rows(sql`insert into api_keys select * from api_keys_saved`);
      await server.rows(sql`drop table api_keys_saved`);
    }
  });

  it('tells loopback addresses from others', () => {
    expect(['127.0.0.1', 'localhost', '::1', '127.1.2.3'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.7', 'example.org'].map(isLoopback)).toEqual([false, false, false, false]);
  });
});
