import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/client.js';
import type { AuditEvent } from '../audit/model.js';
import { committedEventsAfter, comparePositions, currentFeedPosition, type FeedPosition } from '../history/committed-feed.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './event-bus.js';

/** Every instance LISTENs here; a payload is the largest event id of a committed batch. */
export const EVENTS_CHANNEL = 'audit_events_committed';
const PAGE = 500;
/** Local events kept for publishing from memory; past this (the horizon held back long), they are read back. */
const LOCAL_LIMIT = 20_000;

/**
 * Follows the log in commit order and hands each committed event, once, to this instance's
 * subscribers. Every instance does the same, whichever instance stored the event, so a
 * subscriber anywhere gets every event exactly once and in the same order.
 *
 * It reads when woken: by a local commit, by a NOTIFY from another instance, and by a slow poll
 * that covers a lost notification. An event that committed while an older transaction was still
 * running becomes readable only when that one ends (see committed-feed.ts), so the ids it was
 * woken for stay pending and it looks again shortly, backing off.
 *
 * Events committed here are kept until the feed reaches them, and published from memory: only
 * their place in commit order is read, not their contents (other instances' events are loaded).
 */
export class FeedTail {
  private position: FeedPosition | null = null;
  private draining: Promise<void> | null = null;
  private wakeAgain = false;
  private readonly pending = new Set<string>();
  /** Committed here and not published yet. */
  private readonly local = new Map<string, AuditEvent>();
  /** Payloads of this instance's own notifications: their echo needs no read (the commit woke it). */
  private readonly notified = new Set<string>();
  private retryDelay = 0;
  private retryingSince = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly pollMs = 1000,
  ) {}

  /** Where the feed stands: subscribers that resume from a cursor replay up to here. */
  get current(): FeedPosition | null {
    return this.position;
  }

  async start(): Promise<void> {
    this.position = await currentFeedPosition(this.database.db);
    this.unlisten = await this.database.listen(EVENTS_CHANNEL, (payload) => {
      if (this.notified.delete(payload)) return;
      if (/^\d+$/.test(payload)) this.pending.add(payload);
      this.wake();
    });
    this.pollTimer = setInterval(() => this.wake(), this.pollMs);
    this.pollTimer.unref();
  }

  /** Called after a local transaction committed these events. */
  committed(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    let last = events[0]!.id;
    for (const event of events) {
      this.pending.add(event.id);
      if (this.local.size < LOCAL_LIMIT) this.local.set(event.id, event);
      if (BigInt(event.id) > BigInt(last)) last = event.id;
    }
    this.wake();
    if (this.notified.size >= LOCAL_LIMIT) this.notified.clear();
    this.notified.add(last);
    // After commit and not awaited: the notification never holds up the request that stored the events.
    // Prepared: one round trip, not two (it is sent once per committed transaction).
    queryRows(this.database.db, sql`select pg_notify(${EVENTS_CHANNEL}, ${last})`, { prepared: true }).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'NOTIFY failed; other instances will find the events by polling');
    });
  }

  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const { events, last } = await committedEventsAfter(this.database.db, this.position, PAGE, this.local);
        if (events.length > 0) {
          this.position = last;
          for (const event of events) {
            this.pending.delete(event.id);
            this.local.delete(event.id);
          }
          this.bus.publish(events);
        }
        if (events.length < PAGE) break;
      }
      this.forgetPassed();
      this.scheduleRetry();
    } catch (error) {
      this.logger.warn({ err: error }, 'reading the committed feed failed; retrying');
      this.scheduleRetry(true);
    }
  }

  /** Local events the feed went past without reading (removed meanwhile, as by retention): never published. */
  private forgetPassed(): void {
    if (this.local.size === 0 || !this.position) return;
    for (const [id, event] of this.local) if (comparePositions(event.position, this.position) <= 0) this.local.delete(id);
  }

  /** While woken-for events are still unread, look again soon: 5 ms, doubling up to 200 ms. */
  private scheduleRetry(failed = false): void {
    if (this.pending.size === 0 || Date.now() - this.retryingSince > 30_000) {
      // Nothing awaited, or awaited too long (a transaction held open elsewhere): the poll goes on.
      this.pending.clear();
      this.retryDelay = 0;
      this.retryingSince = 0;
      if (!failed) return;
    }
    if (this.stopped || this.retryTimer) return;
    if (this.retryingSince === 0) this.retryingSince = Date.now();
    this.retryDelay = Math.min(this.retryDelay ? this.retryDelay * 2 : 5, 200);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.draining;
    await this.unlisten?.().catch(() => undefined);
  }
}
