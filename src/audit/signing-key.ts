import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';

/** An Ed25519 public key as a verifier needs it: its id, PEM (SPKI) and JWK. */
export interface PublicKeyInfo {
  /** The RFC 7638 thumbprint of the JWK (SHA-256, base64url): what checkpoints name their key by. */
  id: string;
  pem: string;
  jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
  key: KeyObject;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: PublicKeyInfo;
}

/** The file an embedded server keeps its generated key in, beside (never inside) the database. */
export const KEY_FILE_NAME = 'checkpoint-key.pem';

export class SigningKeyError extends Error {}

export function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`expected an Ed25519 key, got ${publicKey.asymmetricKeyType ?? publicKey.type}`);
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string };
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const id = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
  return { id, pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), jwk: { kty: 'OKP', crv: 'Ed25519', x }, key: publicKey };
}

/** A PEM private key (literal `\n` accepted, as environment variables often carry them). */
export function parsePrivateKey(pem: string, where: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem);
  } catch (error) {
    throw new SigningKeyError(`${where}: not a PEM private key (${(error as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`${where}: the checkpoint key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
  return { privateKey, publicKey: publicKeyInfo(privateKey) };
}

/** Every PEM public key of a file (a bundle of `-----BEGIN PUBLIC KEY-----` blocks). */
export function parsePublicKeys(text: string, where: string): PublicKeyInfo[] {
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new SigningKeyError(`${where}: no PEM public key in it`);
  return blocks.map((pem, i) => {
    try {
      return publicKeyInfo(createPublicKey(pem));
    } catch (error) {
      throw new SigningKeyError(`${where}: key ${i + 1}: ${(error as Error).message}`);
    }
  });
}

export interface KeySources {
  /** AUDIT_CHECKPOINT_KEY */
  pem?: string | undefined;
  /** AUDIT_CHECKPOINT_KEY_FILE */
  file?: string | undefined;
  /** AUDIT_CHECKPOINT_TRUSTED_KEYS_FILE: older public keys, still trusted when verifying. */
  trustedFile?: string | undefined;
  /** The embedded database's folder (`memory://…` for an in-memory one); absent in PostgreSQL mode. */
  dataDir?: string | undefined;
  /** False for a reader (the CLI's verify): it never creates a key. */
  generate: boolean;
}

export interface CheckpointKeys {
  /** The key this process signs with; null when checkpoints are off. */
  signing: SigningKey | null;
  /** Keys a verifier trusts: the signing key's public half and the trusted keys file's. */
  trusted: Map<string, PublicKeyInfo>;
}

/**
 * The checkpoint signing key. It must not live in the audited database (whoever rewrites the
 * database must not be able to re-sign), so it comes from the environment, or in embedded mode
 * from a 0600 file in the data folder, generated on first start. PostgreSQL mode with nothing
 * configured signs nothing: a key generated per instance would not survive a restart, and every
 * instance must sign with the same key for a third party to pin it.
 */
export function loadCheckpointKeys(sources: KeySources, logger: Logger): CheckpointKeys {
  let signing: SigningKey | null = null;
  if (sources.pem) signing = parsePrivateKey(sources.pem, 'AUDIT_CHECKPOINT_KEY');
  else if (sources.file) signing = parsePrivateKey(readKeyFile(sources.file, 'AUDIT_CHECKPOINT_KEY_FILE'), `AUDIT_CHECKPOINT_KEY_FILE ${sources.file}`);
  else if (sources.dataDir !== undefined) signing = embeddedKey(sources.dataDir, sources.generate, logger);
  else if (sources.generate) {
    logger.warn('checkpoints are off: no AUDIT_CHECKPOINT_KEY or AUDIT_CHECKPOINT_KEY_FILE (give every instance the same Ed25519 key to sign checkpoints)');
  }
  const trusted = new Map<string, PublicKeyInfo>();
  if (signing) trusted.set(signing.publicKey.id, signing.publicKey);
  if (sources.trustedFile) {
    const where = `AUDIT_CHECKPOINT_TRUSTED_KEYS_FILE ${sources.trustedFile}`;
    for (const key of parsePublicKeys(readKeyFile(sources.trustedFile, where), where)) trusted.set(key.id, key);
  }
  return { signing, trusted };
}

function readKeyFile(path: string, where: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SigningKeyError(`${where}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function embeddedKey(dataDir: string, generate: boolean, logger: Logger): SigningKey | null {
  const announce = (key: SigningKey, message: string, extra: Record<string, unknown> = {}) =>
    logger.warn({ keyId: key.publicKey.id, publicKey: key.publicKey.pem, ...extra }, message);
  if (dataDir.startsWith('memory://')) {
    if (!generate) return null;
    const key = generatedKey();
    announce(key, 'checkpoints are signed with a key generated for this in-memory database (it ends with the process)');
    return key;
  }
  const path = join(dataDir, KEY_FILE_NAME);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !generate) return null;
    const key = generatedKey();
    try {
      // `wx`: two processes starting on one folder keep one key.
      writeFileSync(path, key.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
      announce(key, 'generated the checkpoint signing key; keep its public key outside this machine to verify checkpoints later', { file: path });
      return key;
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      pem = readFileSync(path, 'utf8');
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) logger.warn({ file: path }, 'the checkpoint key file is readable by other users: chmod 600 it');
  return parsePrivateKey(pem, path);
}

function generatedKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyInfo(privateKey) };
}
