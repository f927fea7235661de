import { createPublicKey, sign, verify } from 'node:crypto';
import { and, asc, desc, eq, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database, type Db } from '../db/client.js';
import { checkpointKeys, checkpoints } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { checkPageSize, decodeCursor, encodeCursor, type Connection, type PageArgs } from '../history/events.js';
import type { Logger } from '../logger.js';
import { Periodic } from '../ops/periodic.js';
import { publicKeyInfo, type CheckpointKeys, type PublicKeyInfo, type SigningKey } from './signing-key.js';

/** What a checkpoint says: at batch `batch` the chain head was `head`; a retention drop adds what it pruned. */
export interface CheckpointClaim {
  batch: number;
  head: string;
  signedAt: Date;
  keyId: string;
  prunedMonth: string | null;
  prunedEvents: number | null;
}

export interface Checkpoint extends CheckpointClaim {
  /** Ed25519 over checkpointMessage(…), base64url. */
  signature: string;
}

export interface StoredCheckpoint extends Checkpoint {
  id: string;
  /** The public key stored for keyId (PEM); null when its row is gone. */
  publicKeyPem: string | null;
}

/**
 * The exact text that is signed: one `name value` line per field, so a third party can rebuild it
 * from an exported checkpoint and check it with any Ed25519 library.
 */
export function checkpointMessage(c: CheckpointClaim): string {
  const lines = ['audit-service checkpoint v1', `batch ${c.batch}`, `head ${c.head}`, `signed-at ${c.signedAt.toISOString()}`, `key ${c.keyId}`];
  if (c.prunedMonth !== null) lines.push(`pruned-month ${c.prunedMonth}`, `pruned-events ${c.prunedEvents ?? 0}`);
  return lines.join('\n');
}

export function signCheckpoint(key: SigningKey, claim: Omit<CheckpointClaim, 'keyId'>): Checkpoint {
  const full = { ...claim, keyId: key.publicKey.id };
  return { ...full, signature: sign(null, Buffer.from(checkpointMessage(full)), key.privateKey).toString('base64url') };
}

export function signatureHolds(c: Checkpoint, key: PublicKeyInfo): boolean {
  if (c.keyId !== key.id) return false;
  try {
    return verify(null, Buffer.from(checkpointMessage(c)), key.key, Buffer.from(c.signature, 'base64url'));
  } catch {
    return false;
  }
}

/** The committed chain head. A plain read: it takes no lock, so it never waits for (or holds up) a batch. */
export async function readChainHead(db: Db): Promise<{ seq: number; head: string }> {
  const [row] = await queryRows<{ seq: string; head: string }>(db, sql`select seq::text as seq, head from chain_head where id = 1`);
  return { seq: Number(row?.seq ?? 0), head: row?.head ?? '0'.repeat(64) };
}

/** Signs `claim` and stores it (with its public key) in `db`, which may be the caller's transaction. */
export async function storeCheckpoint(db: Db, key: SigningKey, claim: Omit<CheckpointClaim, 'keyId'>): Promise<StoredCheckpoint> {
  const signed = signCheckpoint(key, claim);
  await db.insert(checkpointKeys).values({ id: key.publicKey.id, publicKey: key.publicKey.pem }).onConflictDoNothing();
  const [row] = await db
    .insert(checkpoints)
    .values({
      batchSeq: signed.batch,
      head: signed.head,
      signedAt: signed.signedAt,
      keyId: signed.keyId,
      prunedMonth: signed.prunedMonth,
      prunedEvents: signed.prunedEvents,
      signature: signed.signature,
    })
    .returning({ id: checkpoints.id });
  return { ...signed, id: String(row!.id), publicKeyPem: key.publicKey.pem };
}

const columns = {
  id: checkpoints.id,
  batch: checkpoints.batchSeq,
  head: checkpoints.head,
  signedAt: checkpoints.signedAt,
  keyId: checkpoints.keyId,
  prunedMonth: checkpoints.prunedMonth,
  prunedEvents: checkpoints.prunedEvents,
  signature: checkpoints.signature,
  publicKeyPem: checkpointKeys.publicKey,
};

const toStored = (row: { id: number; batch: number; prunedEvents: number | null } & Omit<StoredCheckpoint, 'id' | 'batch' | 'prunedEvents'>): StoredCheckpoint => ({
  ...row,
  id: String(row.id),
  batch: Number(row.batch),
  prunedEvents: row.prunedEvents === null ? null : Number(row.prunedEvents),
});

/** Every stored checkpoint, in chain order. */
export async function allCheckpoints(db: Db): Promise<StoredCheckpoint[]> {
  const rows = await db
    .select(columns)
    .from(checkpoints)
    .leftJoin(checkpointKeys, eq(checkpointKeys.id, checkpoints.keyId))
    .orderBy(asc(checkpoints.batchSeq), asc(checkpoints.id));
  return rows.map(toStored);
}

/** Checkpoints, newest first (keyset paging on signing time and id). */
export async function listCheckpoints(db: Db, page: PageArgs, maxPage: number): Promise<Connection<StoredCheckpoint>> {
  checkPageSize(page.first, maxPage);
  const after = page.after ? decodeCursor(page.after) : null;
  if (after && !/^\d+$/.test(after.id)) throw new AuditError('INVALID_CURSOR', `"${page.after!.slice(0, 100)}" is not a cursor this service gave out`);
  const rows = await db
    .select(columns)
    .from(checkpoints)
    .leftJoin(checkpointKeys, eq(checkpointKeys.id, checkpoints.keyId))
    .where(after ? or(lt(checkpoints.signedAt, after.at), and(eq(checkpoints.signedAt, after.at), lt(checkpoints.id, Number(after.id)))) : undefined)
    .orderBy(desc(checkpoints.signedAt), desc(checkpoints.id))
    .limit(page.first + 1);
  const edges = rows.slice(0, page.first).map((row) => {
    const node = toStored(row);
    return { cursor: encodeCursor(node.signedAt, node.id), node };
  });
  return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** The format of an exported checkpoint file (`npm run cli -- checkpoints export`, `checkpointExport`). */
export const CHECKPOINT_FILE_FORMAT = 'audit-service/checkpoints/v1';

const fileSchema = z.object({
  format: z.literal(CHECKPOINT_FILE_FORMAT),
  keys: z.array(z.object({ id: z.string(), publicKeyPem: z.string() })).min(1),
  checkpoints: z
    .array(
      z.object({
        batch: z.number().int().min(0),
        head: z.string().regex(/^[0-9a-f]{64}$/),
        signedAt: z.iso.datetime(),
        keyId: z.string(),
        prunedMonth: z.string().regex(/^\d{4}-\d{2}$/).nullable().default(null),
        prunedEvents: z.number().int().min(0).nullable().default(null),
        signature: z.string(),
      }),
    )
    .min(1),
});

export interface CheckpointFile {
  format: typeof CHECKPOINT_FILE_FORMAT;
  exportedAt: string;
  keys: Array<{ id: string; publicKeyPem: string; publicKeyJwk: PublicKeyInfo['jwk'] }>;
  /** `message` is the exact text signed (informational: verifiers rebuild it from the fields). */
  checkpoints: Array<{ batch: number; head: string; signedAt: string; keyId: string; prunedMonth: string | null; prunedEvents: number | null; signature: string; message: string }>;
}

/** Every stored checkpoint with the public keys that verify them: what a third party keeps. */
export async function exportCheckpoints(db: Db): Promise<CheckpointFile> {
  const stored = await allCheckpoints(db);
  const keys = await db.select().from(checkpointKeys).orderBy(asc(checkpointKeys.createdAt));
  return {
    format: CHECKPOINT_FILE_FORMAT,
    exportedAt: new Date().toISOString(),
    keys: keys.map((k) => {
      const info = publicKeyInfo(createPublicKey(k.publicKey));
      return { id: k.id, publicKeyPem: info.pem, publicKeyJwk: info.jwk };
    }),
    checkpoints: stored.map((c) => ({
      batch: c.batch,
      head: c.head,
      signedAt: c.signedAt.toISOString(),
      keyId: c.keyId,
      prunedMonth: c.prunedMonth,
      prunedEvents: c.prunedEvents,
      signature: c.signature,
      message: checkpointMessage(c),
    })),
  };
}

/** Reads an exported file: its checkpoints, and its keys (each key's id must be its thumbprint). */
export function parseCheckpointFile(text: string): { checkpoints: Checkpoint[]; keys: Map<string, PublicKeyInfo> } {
  const bad = (message: string) => new AuditError('BAD_CHECKPOINT_FILE', `not a checkpoint file: ${message}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw bad((error as Error).message);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw bad(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const keys = new Map<string, PublicKeyInfo>();
  for (const k of parsed.data.keys) {
    let info: PublicKeyInfo;
    try {
      info = publicKeyInfo(createPublicKey(k.publicKeyPem));
    } catch (error) {
      throw bad(`key ${k.id}: ${(error as Error).message}`);
    }
    if (info.id !== k.id) throw bad(`key ${k.id} is not the id of its public key (${info.id})`);
    keys.set(info.id, info);
  }
  return { checkpoints: parsed.data.checkpoints.map((c) => ({ ...c, signedAt: new Date(c.signedAt) })), keys };
}

const CHECKPOINT_LOCK = 7_311_004;

/** Sealed events of `month` in batches (after, through] that are no longer stored. */
async function missingEvents(db: Db, month: string, after: number, through: number): Promise<number> {
  const start = `${month}-01T00:00:00Z`;
  const [row] = await queryRows<{ n: string }>(
    db,
    sql`select count(*)::text as n from event_hashes h
        where h.occurred_at >= ${start}::timestamptz and h.occurred_at < ${start}::timestamptz + interval '1 month'
          and h.batch_seq > ${after} and h.batch_seq <= ${through}
          and not exists (select 1 from events e where e.id = h.event_id and e.occurred_at = h.occurred_at)`,
  );
  return Number(row?.n ?? 0);
}

/**
 * Signs checkpoints: on demand (createCheckpoint, `npm run cli -- checkpoints create`), inside a
 * retention drop, and every CHECKPOINT_INTERVAL_MINUTES when the chain moved since the last one.
 */
export class Checkpointer {
  private readonly periodic: Periodic;

  constructor(
    private readonly database: Database,
    readonly keys: CheckpointKeys,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {
    this.periodic = new Periodic(() => this.runOnce(), intervalMs, logger, 'periodic checkpoint failed');
  }

  get signingKey(): PublicKeyInfo | null {
    return this.keys.signing?.publicKey ?? null;
  }

  /** A stored public key's id, PEM and JWK (the trusted copy when this verifier holds one). */
  describeKey(pem: string): PublicKeyInfo {
    const info = publicKeyInfo(createPublicKey(pem));
    return this.keys.trusted.get(info.id) ?? info;
  }

  /** Signs the current chain head now. */
  async create(): Promise<StoredCheckpoint> {
    const key = this.requireKey();
    const { seq, head } = await readChainHead(this.database.db);
    return this.database.db.transaction((tx) => storeCheckpoint(tx, key, { batch: seq, head, signedAt: new Date(), prunedMonth: null, prunedEvents: null }));
  }

  /** Inside a retention drop's transaction: signs the head it read and what it pruned; null when checkpoints are off. */
  async signDrop(tx: Db, drop: { seq: number; head: string; month: string; events: number }): Promise<StoredCheckpoint | null> {
    if (!this.keys.signing) return null;
    return storeCheckpoint(tx, this.keys.signing, { batch: drop.seq, head: drop.head, signedAt: new Date(), prunedMonth: drop.month, prunedEvents: drop.events });
  }

  /**
   * The periodic checkpoint: skipped when the chain has not moved since the last one (instances
   * take turns through a lock, so several never sign the same head).
   */
  async runOnce(): Promise<StoredCheckpoint | null> {
    const key = this.keys.signing;
    if (!key) return null;
    return this.database.exclusive(CHECKPOINT_LOCK, async () => {
      const { seq, head } = await readChainHead(this.database.db);
      if (seq === 0) return null;
      const [latest] = await this.database.db
        .select({ batch: checkpoints.batchSeq })
        .from(checkpoints)
        .orderBy(desc(checkpoints.id))
        .limit(1);
      if (latest && Number(latest.batch) === seq) return null;
      return this.database.db.transaction((tx) => storeCheckpoint(tx, key, { batch: seq, head, signedAt: new Date(), prunedMonth: null, prunedEvents: null }));
    });
  }

  /** Signs drops recorded before this key signed anything, then starts the periodic checkpoints. */
  async start(): Promise<void> {
    if (!this.keys.signing) return;
    const adopted = await this.signUnsignedDrops();
    if (adopted > 0) this.logger.warn({ adopted }, 'signed retention drops that were recorded without a checkpoint key (trusting them as they are now)');
    if (this.intervalMs > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /**
   * Drops made while no key was configured have an unsigned pruned_months row, which verification
   * with a key does not accept. The first start with a key signs them as the database has them
   * now (what is missing of each month up to its drop's batch): trust on first use.
   */
  private async signUnsignedDrops(): Promise<number> {
    const key = this.keys.signing!;
    const db = this.database.db;
    return this.database.exclusive(CHECKPOINT_LOCK, async () => {
      const drops = await queryRows<{ month: string; through: string; events: string | null; head: string | null }>(
        db,
        sql`select p.month, p.through_batch::text as through, p.events::text as events, b.head
            from pruned_months p left join event_batches b on b.seq = p.through_batch
            where not exists (select 1 from checkpoints c where c.pruned_month = p.month and c.batch_seq = p.through_batch)
            order by p.month, p.through_batch`,
      );
      const counted = new Map<string, number>();
      for (const drop of drops) {
        const through = Number(drop.through);
        const after = counted.get(drop.month) ?? 0;
        counted.set(drop.month, through);
        const head = through === 0 ? '0'.repeat(64) : drop.head;
        if (head === null) {
          this.logger.error({ month: drop.month, through }, 'cannot sign a retention drop: its batch is not in the chain');
          continue;
        }
        const events = drop.events !== null ? Number(drop.events) : await missingEvents(db, drop.month, after, through);
        await storeCheckpoint(db, key, { batch: through, head, signedAt: new Date(), prunedMonth: drop.month, prunedEvents: events });
      }
      return drops.length;
    });
  }

  private requireKey(): SigningKey {
    if (!this.keys.signing) {
      throw new AuditError('CHECKPOINTS_DISABLED', 'Checkpoints are off: this server has no signing key (set AUDIT_CHECKPOINT_KEY or AUDIT_CHECKPOINT_KEY_FILE).');
    }
    return this.keys.signing;
  }
}
