import { sql } from 'drizzle-orm';
import { queryRows, type Database, type Db } from '../db/client.js';

/** `2026-11` for any moment in November 2026 (UTC). */
export const monthOf = (at: Date) => at.toISOString().slice(0, 7);

const PARTITION_LOCK = 7_311_003;

/**
 * The monthly partitions of events and their child tables (created by the SQL function
 * audit_ensure_month_partition, see drizzle/0001). Months are created ahead of time, and on demand
 * for an event in a month that has none (an import of old logs, say) before its batch is stored.
 */
export class Partitions {
  private readonly known = new Set<string>();

  constructor(private readonly database: Database) {}

  /** Months that have partitions, oldest first. */
  async months(): Promise<string[]> {
    const rows = await queryRows<{ relname: string }>(
      this.database.db,
      sql`select relname from pg_class where relname ~ '^events_p[0-9]{4}_[0-9]{2}$' and relnamespace = current_schema()::regnamespace`,
    );
    const months = rows.map((r) => r.relname.slice('events_p'.length).replace('_', '-')).sort();
    for (const month of months) this.known.add(month);
    return months;
  }

  /** This month and the next `ahead` months. */
  async ensureAhead(now = new Date(), ahead = 2): Promise<void> {
    const months = Array.from({ length: ahead + 1 }, (_, i) => monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))));
    await this.ensure(months);
  }

  /** Makes sure every moment given falls in an existing partition; cheap when all are known. */
  async ensureFor(moments: Iterable<Date>): Promise<void> {
    const missing = new Set<string>();
    for (const at of moments) {
      const month = monthOf(at);
      if (!this.known.has(month)) missing.add(month);
    }
    if (missing.size > 0) await this.ensure([...missing]);
  }

  private async ensure(months: string[]): Promise<void> {
    const unknown = months.filter((m) => !this.known.has(m));
    if (unknown.length === 0) return;
    await this.database.exclusive(PARTITION_LOCK, async () => {
      for (const month of unknown) {
        await this.database.db.execute(sql`select audit_ensure_month_partition(${`${month}-01`}::date)`);
        this.known.add(month);
      }
    });
  }

  /**
   * Drops a month's partitions of every partitioned table inside `tx`, the transaction that also
   * records the drop (see Retention). The parent tables are locked first, `events` first as every
   * batch writes it first (the order a DROP of a partition takes its locks in, so readers and
   * writers queue behind it instead of deadlocking); the lock waits for the batches still writing,
   * so once it is held every event of the month is committed and sealed. Returns the events the
   * month held. `tx` must hold no lock on these tables yet.
   */
  async dropIn(tx: Db, month: string): Promise<number> {
    const suffix = `_p${month.replace('-', '_')}`;
    const tables = await queryRows<{ parent: string; relname: string }>(
      tx,
      sql`select p.relname as parent, c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
          join pg_class p on p.oid = i.inhparent join pg_partitioned_table pt on pt.partrelid = p.oid
          where c.relname = p.relname || ${suffix} and c.relnamespace = current_schema()::regnamespace
          order by p.relname <> 'events', p.relname`,
    );
    const quote = (name: string) => `"${name.replace(/"/g, '')}"`;
    for (const { parent } of tables) await tx.execute(sql.raw(`lock table only ${quote(parent)} in access exclusive mode`));
    let events = 0;
    if (tables.some((t) => t.parent === 'events')) {
      const [count] = await queryRows<{ n: number }>(tx, sql.raw(`select count(*)::int as n from ${quote(`events${suffix}`)}`));
      events = Number(count?.n ?? 0);
    }
    for (const { relname } of tables) await tx.execute(sql.raw(`drop table ${quote(relname)}`));
    // Keys of dropped events go too, so the keys table does not outgrow the events it guards.
    await tx.execute(sql`delete from event_idempotency_keys where occurred_at < (${`${month}-01T00:00:00Z`}::timestamptz + interval '1 month')`);
    return events;
  }

  /** After a drop committed: the month must be created again before an event of it is stored. */
  forget(month: string): void {
    this.known.delete(month);
  }
}
