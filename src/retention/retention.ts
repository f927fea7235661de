import { eq, sql } from 'drizzle-orm';
import { readChainHead, type Checkpointer } from '../audit/checkpoints.js';
import type { Database, Db } from '../db/client.js';
import { prunedMonths, retentionPolicy } from '../db/schema.js';
import { AuditError } from '../errors.js';
import type { Ingestor } from '../audit/ingest.js';
import type { Logger } from '../logger.js';
import { Periodic } from '../ops/periodic.js';
import { monthOf, type Partitions } from './partitions.js';

export interface RetentionPolicyView {
  /** Months of events kept; null keeps everything. */
  months: number | null;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface DroppedMonth {
  month: string;
  events: number;
}

const MAX_MONTHS = 1200;

export async function getRetentionPolicy(db: Db): Promise<RetentionPolicyView> {
  const [row] = await db.select().from(retentionPolicy).where(eq(retentionPolicy.id, 1));
  return { months: row?.months ?? null, updatedAt: row?.updatedAt ?? null, updatedBy: row?.updatedBy ?? null };
}

/**
 * Months whose every moment is older than the policy allows: a month is dropped only when its end
 * is at least `months` calendar months before now, so at least that much history always stays.
 */
export function expiredMonths(months: string[], keep: number, now: Date): string[] {
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - keep, now.getUTCDate(), now.getUTCHours(), now.getUTCMinutes()));
  return months.filter((month) => {
    const [year, m] = month.split('-').map(Number) as [number, number];
    return Date.UTC(year, m, 1) <= cutoff.getTime();
  });
}

const RETENTION_LOCK = 7_311_005;

/**
 * Expired months dropped whole. Each drop is recorded as a `retention-month-dropped` event and
 * commits with a pruned_months row and, with a checkpoint key, a signed checkpoint naming the month
 * and the events removed: what lets verifyIntegrity tell an audited drop from a DELETE.
 */
export class Retention {
  constructor(
    private readonly database: Database,
    private readonly partitions: Partitions,
    private readonly ingestor: Ingestor,
    private readonly checkpointer: Checkpointer,
    private readonly logger: Logger,
  ) {}

  async setPolicy(months: number | null, actor: string | null): Promise<{ policy: RetentionPolicyView; dropped: DroppedMonth[] }> {
    if (months !== null && (!Number.isInteger(months) || months < 1 || months > MAX_MONTHS)) {
      throw new AuditError('BAD_USER_INPUT', `months must be a whole number from 1 to ${MAX_MONTHS}, or null to keep everything`, { field: 'months' });
    }
    const db = this.database.db;
    const before = await getRetentionPolicy(db);
    await db
      .insert(retentionPolicy)
      .values({ id: 1, months, updatedBy: actor })
      .onConflictDoUpdate({ target: retentionPolicy.id, set: { months, updatedBy: actor, updatedAt: sql`now()` } });
    await this.ingestor.log({
      type: 'retention-policy-changed',
      message: months === null ? 'Retention: keep every event' : `Retention: keep ${months} months of events`,
      user: actor,
      source: 'API',
      parameters: { before: before.months, after: months },
    });
    const dropped = await this.apply();
    return { policy: await getRetentionPolicy(db), dropped };
  }

  /** Drops every expired month under the current policy (nothing without one). */
  async apply(now = new Date()): Promise<DroppedMonth[]> {
    const { months } = await getRetentionPolicy(this.database.db);
    if (months === null) return [];
    const dropped: DroppedMonth[] = [];
    const current = monthOf(now);
    for (const month of expiredMonths(await this.partitions.months(), months, now)) {
      if (month >= current) continue;
      const events = await this.drop(month, months);
      if (events === null) continue;
      this.logger.info({ month, events }, 'retention dropped a month');
      dropped.push({ month, events });
    }
    return dropped;
  }

  /**
   * One month; null when another instance dropped it first. The event is recorded first, under a
   * key, so a drop that fails and is retried is recorded once; the drop then commits together with
   * its proof (the pruned_months row and the signed checkpoint), which verification relies on.
   */
  private async drop(month: string, policyMonths: number): Promise<number | null> {
    return this.database.exclusive(RETENTION_LOCK, async () => {
      if (!(await this.partitions.months()).includes(month)) return null;
      const record = await this.ingestor.log({
        type: 'retention-month-dropped',
        message: `Dropped the events of ${month} (retention: ${policyMonths} months)`,
        source: 'SERVER',
        idempotencyKey: `retention:${month}`,
        parameters: { month, policyMonths },
      });
      const events = await this.database.db.transaction(async (tx) => {
        const dropped = await this.partitions.dropIn(tx, month);
        // Read once the drop's locks are held: every dropped event is sealed at or before this batch.
        const { seq, head } = await readChainHead(tx);
        await tx.insert(prunedMonths).values({ month, throughBatch: seq, events: dropped, recordEventId: record.event ? Number(record.event.id) : null });
        await this.checkpointer.signDrop(tx, { seq, head, month, events: dropped });
        return dropped;
      });
      this.partitions.forget(month);
      return events;
    });
  }
}

/** Keeps partitions ahead of time and applies retention, at start and then periodically. */
export class RetentionWorker {
  private readonly periodic: Periodic;

  constructor(
    private readonly partitions: Partitions,
    private readonly retention: Retention,
    logger: Logger,
    intervalMs: number,
  ) {
    this.periodic = new Periodic(() => this.runOnce(), intervalMs, logger, 'retention run failed');
  }

  async start(): Promise<void> {
    await this.partitions.ensureAhead();
    this.periodic.start();
  }

  async runOnce(): Promise<DroppedMonth[]> {
    await this.partitions.ensureAhead();
    return this.retention.apply();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
