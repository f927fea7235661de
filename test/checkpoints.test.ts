import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointMessage, Checkpointer, parseCheckpointFile, type CheckpointFile } from '../src/audit/checkpoints.js';
import { verifyIntegrity } from '../src/audit/integrity.js';
import { KEY_FILE_NAME, loadCheckpointKeys, publicKeyInfo, SigningKeyError } from '../src/audit/signing-key.js';
import { EnvError, loadEnv } from '../src/env.js';
import { rewriteChain } from './helpers/chain.js';
import { sql, startTestServer, type TestServer } from './helpers/server.js';

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const KEY = pem();
const dir = mkdtempSync(join(tmpdir(), 'audit-checkpoints-'));

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUDIT_CHECKPOINT_KEY: KEY });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const LOG_BATCH = `mutation($events: [LogInput!]!) { logBatch(events: $events) { results { event { id } } } }`;
const CREATE = `mutation { createCheckpoint { id batch head signedAt keyId prunedMonth message signature key { id pem jwk } } }`;
const VERIFY = `{ verifyIntegrity { ok batches events checkpoints head warnings firstBroken { kind batch eventId message } } }`;
const verifyNow = async () => (await server.gql(VERIFY)).data.verifyIntegrity;
const exportNow = async () => (await server.gql(`{ checkpointExport }`)).data.checkpointExport as CheckpointFile;

async function logSome(label: string, count: number): Promise<string[]> {
  const res = await server.gql(LOG_BATCH, { events: Array.from({ length: count }, (_, i) => ({ type: 'query-start', user: `u${i}`, message: `${label} ${i}`, parameters: { n: i } })) });
  expect(res.errors).toBeUndefined();
  return res.data.logBatch.results.map((r: { event: { id: string } }) => r.event.id);
}

const chainHead = async () => (await server.rows<{ seq: number; head: string }>(sql`select seq::int as seq, head from chain_head`))[0]!;
const batchOf = async (eventId: string) => (await server.rows<{ seq: number }>(sql`select batch_seq::int as seq from event_hashes where event_id = ${eventId}`))[0]!.seq;

describe('signed checkpoints', () => {
  it('signs the chain head on demand, and the signature verifies with the exported public key alone', async () => {
    await logSome('first', 4);
    const created = (await server.gql(CREATE)).data.createCheckpoint;
    const head = await chainHead();
    expect(created).toMatchObject({ batch: head.seq, head: head.head, prunedMonth: null });

    const file = await exportNow();
    expect(file.format).toBe('audit-service/checkpoints/v1');
    const kept = file.checkpoints.find((c) => c.signature === created.signature)!;
    const key = file.keys.find((k) => k.id === kept.keyId)!;
    // Plain node:crypto, as a third party holding only the file would check it.
    const message = ['audit-service checkpoint v1', `batch ${kept.batch}`, `head ${kept.head}`, `signed-at ${kept.signedAt}`, `key ${kept.keyId}`].join('\n');
    expect(kept.message).toBe(message);
    const signature = Buffer.from(kept.signature, 'base64url');
    expect(verify(null, Buffer.from(message), createPublicKey(key.publicKeyPem), signature)).toBe(true);
    expect(verify(null, Buffer.from(message), createPublicKey({ key: key.publicKeyJwk, format: 'jwk' }), signature)).toBe(true);
    expect(verify(null, Buffer.from(message.replace(`batch ${kept.batch}`, `batch ${kept.batch + 1}`)), createPublicKey(key.publicKeyPem), signature)).toBe(false);
    // The key id is the JWK's RFC 7638 thumbprint, and the key is the public half of the configured one.
    expect(createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x: key.publicKeyJwk.x })).digest('base64url')).toBe(key.id);
    expect(key.publicKeyPem).toBe(createPublicKey(KEY).export({ format: 'pem', type: 'spki' }).toString());
    expect(created.key).toEqual({ id: key.id, pem: key.publicKeyPem, jwk: key.publicKeyJwk });
    expect((await server.gql(`{ checkpointKey { id pem } }`)).data.checkpointKey).toEqual({ id: key.id, pem: key.publicKeyPem });

    const report = await verifyNow();
    expect(report).toMatchObject({ ok: true, checkpoints: 1, warnings: [], firstBroken: null });
  });

  it('lists checkpoints newest first, a page at a time', async () => {
    await logSome('second', 2);
    const b = (await server.gql(CREATE)).data.createCheckpoint;
    const c = (await server.gql(CREATE)).data.createCheckpoint;
    const PAGE = `query($after: String) { checkpoints(first: 2, after: $after) { nodes { id batch key { id } } pageInfo { hasNextPage endCursor } } }`;
    const first = (await server.gql(PAGE)).data.checkpoints;
    expect(first.nodes.map((n: { id: string }) => n.id)).toEqual([c.id, b.id]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await server.gql(PAGE, { after: first.pageInfo.endCursor })).data.checkpoints;
    expect(second.nodes).toHaveLength(1);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(second.nodes[0].batch).toBeLessThan(b.batch);
    expect((await server.gql(PAGE, { after: 'bm9wZQ' })).errors?.[0]?.extensions?.code).toBe('INVALID_CURSOR');
  });

  it('signs periodically only when the chain moved', async () => {
    const checkpointer = server.services.checkpoints;
    expect(await checkpointer.runOnce()).toBeNull();
    await logSome('third', 1);
    const signed = await checkpointer.runOnce();
    expect(signed).toMatchObject({ batch: (await chainHead()).seq });
    expect(await checkpointer.runOnce()).toBeNull();
  });

  it('detects a checkpoint row altered, or one signed by a key it does not trust', async () => {
    const [row] = await server.rows<{ id: string; head: string; signed_at: Date }>(sql`select id::text as id, head, signed_at from checkpoints order by id limit 1`);
    await server.rows(sql`update checkpoints set head = repeat('a', 64) where id = ${row!.id}`);
    expect((await verifyNow()).firstBroken).toMatchObject({ kind: 'checkpoint-signature' });
    await server.rows(sql`update checkpoints set head = ${row!.head}, signed_at = signed_at + interval '1 hour' where id = ${row!.id}`);
    expect((await verifyNow()).firstBroken).toMatchObject({ kind: 'checkpoint-signature' });
    await server.rows(sql`update checkpoints set signed_at = signed_at - interval '1 hour' where id = ${row!.id}`);
    expect((await verifyNow()).ok).toBe(true);

    // Someone without the key signs their own checkpoint and stores their public key beside it.
    const { privateKey } = generateKeyPairSync('ed25519');
    const forger = publicKeyInfo(privateKey);
    const head = await chainHead();
    const claim = { batch: head.seq, head: head.head, signedAt: new Date(), keyId: forger.id, prunedMonth: null, prunedEvents: null };
    const signature = sign(null, Buffer.from(checkpointMessage(claim)), privateKey).toString('base64url');
    await server.rows(sql`insert into checkpoint_keys (id, public_key) values (${forger.id}, ${forger.pem})`);
    await server.rows(sql`insert into checkpoints (batch_seq, head, signed_at, key_id, signature) values (${head.seq}, ${head.head}, ${claim.signedAt.toISOString()}, ${forger.id}, ${signature})`);
    const report = await verifyNow();
    expect(report.firstBroken).toMatchObject({ kind: 'checkpoint-key', batch: head.seq });
    expect(report.firstBroken.message).toContain(forger.id);
    await server.rows(sql`delete from checkpoints where key_id = ${forger.id}`);
    await server.rows(sql`delete from checkpoint_keys where id = ${forger.id}`);
    expect((await verifyNow()).ok).toBe(true);
  });

  it('finds a wholesale rewrite that passes the chain check, against the checkpoints kept outside the database', async () => {
    const file = await exportNow();
    const path = join(dir, 'kept.json');
    writeFileSync(path, JSON.stringify(file));
    const signedBatches = file.checkpoints.map((c) => c.batch).sort((a, b) => a - b);
    // An event sealed after the first checkpoint and before the others.
    const [target] = await server.rows<{ id: string }>(sql`
      select e.id::text as id from events e join event_hashes h on h.event_id = e.id
      where h.batch_seq > ${signedBatches[0]!} and h.batch_seq <= ${signedBatches[1]!} order by e.id limit 1`);
    const targetBatch = await batchOf(target!.id);
    const untouchedHead = (await chainHead()).head;
    const [original] = await server.rows<{ description: string }>(sql`select description from events where id = ${target!.id}`);

    await server.rows(sql`update events set description = 'rewritten quietly' where id = ${target!.id}`);
    expect((await verifyNow()).firstBroken).toMatchObject({ kind: 'event-changed', eventId: target!.id });
    await rewriteChain(server.database.db);
    // The checkpoints in the database still give it away...
    const inside = await verifyNow();
    expect(inside.firstBroken).toMatchObject({ kind: 'checkpoint-head' });
    // ...so whoever rewrote it removes them too: the chain itself is consistent again.
    await server.rows(sql`create table saved_checkpoints as select * from checkpoints`);
    await server.rows(sql`delete from checkpoints`);
    const rewritten = await verifyNow();
    expect(rewritten).toMatchObject({ ok: true, checkpoints: 0 });
    expect(rewritten.head).not.toBe(untouchedHead);

    const kept = parseCheckpointFile(readFileSync(path, 'utf8'));
    const outside = await verifyIntegrity(server.database.db, { trusted: kept.keys, external: kept.checkpoints });
    expect(outside.ok).toBe(false);
    const firstAfter = signedBatches.find((b) => b >= targetBatch)!;
    expect(outside.firstBroken).toMatchObject({ kind: 'checkpoint-head', batch: firstAfter });
    expect(outside.firstBroken!.message).toContain(`after batch ${signedBatches[0]} (whose checkpoint still matches) and at or before batch ${firstAfter}`);

    if (server.databaseUrl) {
      // The command line, as the third party runs it (an embedded database has one owner: see cli.test.ts).
      const run = promisify(execFile);
      const result = await run('npx', ['tsx', 'src/cli/index.ts', 'verify', '--checkpoints', path], { env: { ...process.env, DATABASE_URL: server.databaseUrl } }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout).firstBroken).toMatchObject({ kind: 'checkpoint-head', batch: firstAfter });
    }

    // Put everything back: the rewrite of the restored events gives back the service's hashes.
    await server.rows(sql`update events set description = ${original!.description} where id = ${target!.id}`);
    await rewriteChain(server.database.db);
    await server.rows(sql`insert into checkpoints select * from saved_checkpoints`);
    await server.rows(sql`drop table saved_checkpoints`);
    expect((await chainHead()).head).toBe(untouchedHead);
    expect(await verifyNow()).toMatchObject({ ok: true, firstBroken: null });
    expect((await verifyIntegrity(server.database.db, { trusted: kept.keys, external: kept.checkpoints })).ok).toBe(true);
  });

  it('refuses a malformed checkpoint file with BAD_CHECKPOINT_FILE', () => {
    expect(() => parseCheckpointFile('not json')).toThrow(expect.objectContaining({ code: 'BAD_CHECKPOINT_FILE' }));
    expect(() => parseCheckpointFile('{"format":"audit-service/checkpoints/v1","keys":[],"checkpoints":[]}')).toThrow(expect.objectContaining({ code: 'BAD_CHECKPOINT_FILE' }));
    const other = publicKeyInfo(createPublicKey(pem()));
    const mislabelled = { format: 'audit-service/checkpoints/v1', keys: [{ id: 'not-its-id', publicKeyPem: other.pem }], checkpoints: [{ batch: 1, head: '0'.repeat(64), signedAt: new Date().toISOString(), keyId: 'x', signature: 'x' }] };
    expect(() => parseCheckpointFile(JSON.stringify(mislabelled))).toThrow(/not the id of its public key/);
  });
});

describe('the signing key', () => {
  const quiet = () => {
    const lines: Array<Record<string, unknown>> = [];
    return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
  };

  it('is generated once into an embedded data folder (0600), its public key logged, and read back after', () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    const { lines, logger } = quiet();
    expect(loadCheckpointKeys({ dataDir: data, generate: false }, logger).signing).toBeNull();
    const generated = loadCheckpointKeys({ dataDir: data, generate: true }, logger).signing!;
    const file = join(data, KEY_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(lines.find((l) => l.keyId === generated.publicKey.id)?.publicKey).toBe(generated.publicKey.pem);
    const again = loadCheckpointKeys({ dataDir: data, generate: true }, logger);
    expect(again.signing!.publicKey.id).toBe(generated.publicKey.id);
    expect([...again.trusted.keys()]).toEqual([generated.publicKey.id]);
    // A reader (the CLI's verify) finds it too, and never creates one.
    expect(loadCheckpointKeys({ dataDir: data, generate: false }, logger).signing!.publicKey.id).toBe(generated.publicKey.id);
    // An in-memory database gets a key that ends with the process.
    expect(loadCheckpointKeys({ dataDir: 'memory://', generate: true }, logger).signing).not.toBeNull();
  });

  it('is off in PostgreSQL mode with nothing configured, and says so', async () => {
    const { lines, logger } = quiet();
    const keys = loadCheckpointKeys({ generate: true }, logger);
    expect(keys.signing).toBeNull();
    expect(lines.map((l) => l.msg).join('\n')).toContain('checkpoints are off');
    const off = new Checkpointer(server.database, keys, logger, 60_000);
    await expect(off.create()).rejects.toMatchObject({ code: 'CHECKPOINTS_DISABLED' });
    expect(await off.runOnce()).toBeNull();
  });

  it('comes from AUDIT_CHECKPOINT_KEY or a key file, trusts older public keys from a file, and refuses what is not Ed25519', () => {
    const { logger } = quiet();
    const path = join(dir, 'key.pem');
    writeFileSync(path, KEY);
    const fromFile = loadCheckpointKeys({ file: path, generate: true }, logger).signing!;
    const fromEnv = loadCheckpointKeys({ pem: KEY.replace(/\n/g, '\\n'), generate: true }, logger).signing!;
    expect(fromEnv.publicKey.id).toBe(fromFile.publicKey.id);

    const older = [publicKeyInfo(createPublicKey(pem())), publicKeyInfo(createPublicKey(pem()))];
    const trustedFile = join(dir, 'trusted.pem');
    writeFileSync(trustedFile, older.map((k) => k.pem).join('\n'));
    const keys = loadCheckpointKeys({ file: path, trustedFile, generate: true }, logger);
    expect([...keys.trusted.keys()].sort()).toEqual([fromFile.publicKey.id, ...older.map((k) => k.id)].sort());

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => loadCheckpointKeys({ pem: rsa, generate: true }, logger)).toThrow(SigningKeyError);
    expect(() => loadCheckpointKeys({ pem: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----', generate: true }, logger)).toThrow(/not a PEM private key/);
    expect(() => loadCheckpointKeys({ file: join(dir, 'missing.pem'), generate: true }, logger)).toThrow(/cannot read/);
    expect(() => loadEnv({ AUDIT_CHECKPOINT_KEY: KEY, AUDIT_CHECKPOINT_KEY_FILE: path })).toThrow(EnvError);
    expect(() => loadEnv({ AUDIT_CHECKPOINT_KEY: 'hunter2' })).toThrow(/AUDIT_CHECKPOINT_KEY/);
  });
});
