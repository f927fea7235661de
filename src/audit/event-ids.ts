import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

/** How many ids one trip to the sequence brings at least. */
const BLOCK = 1000;

/**
 * Event ids, taken from `events_id_seq` a block at a time and handed out from memory, so that a
 * batch needs no round trip for its ids (a single-event request would otherwise spend one of its
 * few round trips on it). Ids were never in commit order (see committed-feed.ts); an id taken and
 * not used leaves a gap, as a rolled-back nextval always did.
 */
export class EventIds {
  private pool: string[] = [];
  private refilling: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  async take(count: number): Promise<string[]> {
    while (this.pool.length < count) {
      this.refilling ??= this.refill(Math.max(BLOCK, count)).finally(() => (this.refilling = null));
      await this.refilling;
    }
    return this.pool.splice(0, count);
  }

  private async refill(count: number): Promise<void> {
    const rows = await queryRows<{ id: string }>(this.db, sql`select nextval('events_id_seq')::text as id from generate_series(1, ${count}::int)`, {
      prepared: true,
    });
    for (const row of rows) this.pool.push(row.id);
  }
}
