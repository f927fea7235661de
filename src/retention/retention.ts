import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { retentionPolicy } from '../db/schema.js';
import { AuditError } from '../errors.js';
import type { Ingestor } from '../audit/ingest.js';
import type { Logger } from '../logger.js';
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

/** Expired months dropped whole. Each drop is recorded as an event before the data goes. */
export class Retention {
  constructor(
    private readonly db: Db,
    private readonly partitions: Partitions,
    private readonly ingestor: Ingestor,
    private readonly logger: Logger,
  ) {}

  async setPolicy(months: number | null, actor: string | null): Promise<{ policy: RetentionPolicyView; dropped: DroppedMonth[] }> {
    if (months !== null && (!Number.isInteger(months) || months < 1 || months > MAX_MONTHS)) {
      throw new AuditError('BAD_USER_INPUT', `months must be a whole number from 1 to ${MAX_MONTHS}, or null to keep everything`, { field: 'months' });
    }
    const before = await getRetentionPolicy(this.db);
    await this.db
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
    return { policy: await getRetentionPolicy(this.db), dropped };
  }

  /** Drops every expired month under the current policy (nothing without one). */
  async apply(now = new Date()): Promise<DroppedMonth[]> {
    const { months } = await getRetentionPolicy(this.db);
    if (months === null) return [];
    const dropped: DroppedMonth[] = [];
    const current = monthOf(now);
    for (const month of expiredMonths(await this.partitions.months(), months, now)) {
      if (month >= current) continue;
      // Recorded first, under a key, so a drop that fails and is retried is recorded once.
      await this.ingestor.log({
        type: 'retention-month-dropped',
        message: `Dropped the events of ${month} (retention: ${months} months)`,
        source: 'SERVER',
        idempotencyKey: `retention:${month}`,
        parameters: { month, policyMonths: months },
      });
      const events = await this.partitions.drop(month);
      this.logger.info({ month, events }, 'retention dropped a month');
      dropped.push({ month, events });
    }
    return dropped;
  }
}

/** Keeps partitions ahead of time and applies retention, at start and then periodically. */
export class RetentionWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly partitions: Partitions,
    private readonly retention: Retention,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    await this.partitions.ensureAhead();
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((error: unknown) => this.logger.error({ err: error }, 'retention run failed'))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<DroppedMonth[]> {
    await this.partitions.ensureAhead();
    return this.retention.apply();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
