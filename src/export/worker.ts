import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Db } from '../db/client.js';
import { committedEventsAfter, type FeedPosition } from '../history/committed-feed.js';
import type { Logger } from '../logger.js';
import { CloudWatchDestination } from './cloudwatch.js';
import type { Destination } from './destination.js';
import { FileDestination } from './file-sink.js';
import { advanceCursor, claimLease, listSinks, recordSinkError, releaseLease, type CloudWatchConfig, type FileConfig, type Sink } from './sinks.js';

export interface ExportWorkerOptions {
  db: Db;
  logger: Logger;
  /** How often sinks are looked at when there is nothing to deliver. */
  pollMs: number;
  /** The longest wait between two attempts after failures (the first is 1/16 of it, at most 1 s). */
  retryMaxMs: number;
  /** Folder that file sinks' paths are relative to. */
  fileDir: string;
}

/** A page taken from the feed but not yet delivered in full: a retry resumes at `next`. */
interface Pending {
  last: FeedPosition;
  units: unknown[];
  next: number;
  delivered: number;
}

interface SinkState {
  sink: Sink;
  destination: Destination;
  pending: Pending | null;
  failures: number;
  retryAt: number;
}

const LEASE_SECONDS = 60;
const PAGE_LIMIT = 1000;

/**
 * Delivers every export sink: reads committed events after the sink's cursor in commit order, sends
 * them, and only then moves the cursor, so nothing is skipped and, across a crash or a restart,
 * nothing is lost (a page whose delivery was cut short is sent again: at least once). Within one
 * run a failed unit is retried alone, with exponential backoff, so a passing outage sends nothing
 * twice. One instance at a time delivers a sink (a lease in export_sinks).
 */
export class ExportWorkers {
  private readonly owner = randomUUID();
  private readonly states = new Map<string, SinkState>();
  private readonly log: Logger;
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: ExportWorkerOptions) {
    this.log = options.logger.child({ module: 'export' });
  }

  get running(): boolean {
    return this.loop !== null;
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
  }

  /** Stops after the unit in flight (or aborts it), forgets pending pages and gives up the leases. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.controller!.abort();
    this.wake?.();
    await this.loop;
    this.loop = null;
    for (const [id, state] of this.states) {
      await state.destination.close();
      await releaseLease(this.options.db, id, this.owner).catch(() => undefined);
    }
    this.states.clear();
  }

  /** Looks at the sinks now instead of at the next poll (after a new event or a configuration change). */
  poke(): void {
    this.wake?.();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let busy = false;
      try {
        busy = await this.tick(signal);
      } catch (error) {
        if (!signal.aborted) this.log.error({ err: error }, 'export round failed');
      }
      if (signal.aborted) break;
      if (!busy) await this.sleep(this.options.pollMs, signal);
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolvePromise) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolvePromise();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      if (signal.aborted) done();
    });
  }

  /** One round over all sinks; true when some sink has more to deliver right away. */
  private async tick(signal: AbortSignal): Promise<boolean> {
    const sinks = await listSinks(this.options.db);
    const ids = new Set(sinks.map((s) => s.id));
    for (const [id, state] of this.states) {
      if (!ids.has(id)) {
        this.states.delete(id);
        await state.destination.close();
      }
    }
    const results = await Promise.all(sinks.map((sink) => this.deliver(sink, signal)));
    return results.some(Boolean);
  }

  private stateFor(sink: Sink): SinkState {
    const known = this.states.get(sink.id);
    if (known && known.sink.updatedAt.getTime() === sink.updatedAt.getTime()) {
      known.sink = sink;
      return known;
    }
    // New, or its settings changed: a fresh destination; a pending page is planned again.
    if (known) void known.destination.close();
    const state: SinkState = { sink, destination: this.destinationFor(sink), pending: null, failures: 0, retryAt: 0 };
    this.states.set(sink.id, state);
    return state;
  }

  private destinationFor(sink: Sink): Destination {
    return sink.kind === 'cloudwatch'
      ? new CloudWatchDestination(sink.config as CloudWatchConfig)
      : new FileDestination(resolve(this.options.fileDir, (sink.config as FileConfig).path), sink.config as FileConfig);
  }

  /** Delivers one page of a sink; true when it delivered a full page (there may be more). */
  private async deliver(listed: Sink, signal: AbortSignal): Promise<boolean> {
    const state = this.stateFor(listed);
    if (Date.now() < state.retryAt) return false;
    const { db } = this.options;
    // Idle polls only read: a write per poll would, for its instant, hold back the committed feed
    // (whose horizon is the oldest writing transaction of the whole cluster) for everyone.
    if (!state.pending && (await committedEventsAfter(db, listed.cursor, 1)).events.length === 0) return false;
    const sink = await claimLease(db, listed.id, this.owner, LEASE_SECONDS);
    if (!sink) {
      state.pending = null;
      return false;
    }
    try {
      // A page resumed after a failure was not the end of the feed: look again right after it.
      let full = state.pending !== null;
      if (!state.pending) {
        const page = await committedEventsAfter(db, sink.cursor, PAGE_LIMIT);
        if (page.events.length === 0) return false;
        full = page.events.length === PAGE_LIMIT;
        const units = state.destination.prepare(page.events);
        state.pending = { last: page.last!, units, next: 0, delivered: 0 };
      }
      const pending = state.pending;
      while (pending.next < pending.units.length) {
        if (signal.aborted) return false;
        const { delivered, warning } = await state.destination.send(pending.units[pending.next], signal);
        pending.next += 1;
        pending.delivered += delivered;
        if (warning) {
          this.log.warn({ sink: sink.name }, warning);
          await recordSinkError(db, sink.id, warning);
        }
      }
      state.pending = null;
      state.failures = 0;
      state.retryAt = 0;
      const moved = await advanceCursor(db, sink.id, this.owner, pending.last, pending.delivered);
      return moved && full;
    } catch (error) {
      if (signal.aborted) return false;
      state.failures += 1;
      const max = this.options.retryMaxMs;
      const delay = Math.min(max, Math.min(1000, max / 16) * 2 ** (state.failures - 1)) * (0.75 + Math.random() / 2);
      state.retryAt = Date.now() + delay;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.log.warn({ sink: sink.name, failures: state.failures, retryInMs: Math.round(delay) }, `export failed: ${message}`);
      await recordSinkError(db, sink.id, message).catch(() => undefined);
      return false;
    }
  }
}
