import { LOG_BATCH_MUTATION, type EventSource, type LogBatchResponse, type LogInput } from './types.js';

/**
 * The client Logger, for browsers and Node: no Node-only import, `fetch` to send, runtime features
 * looked up on globalThis.
 */

/** A record before it is queued; the defaults callback may change any of it. */
export interface LogRecord {
  message: string;
  params: Record<string, unknown>;
  type: string;
  stackTrace?: string | null;
  user?: string | null;
  sessionId?: string | null;
}

export interface DropReport {
  /** Records dropped by this report. */
  count: number;
  /** `queue-full`, or `rejected: CODE` when the server refused a record that a retry cannot fix. */
  reason: string;
  /** Records dropped since the Logger was made. */
  total: number;
}

export interface LoggerOptions {
  /** The GraphQL endpoint, as `https://audit.example.com/graphql`. */
  url: string;
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** Called with every record before it is queued: set default parameters (`r.params.app = 'web'`). */
  defaults?: (record: LogRecord) => void;
  user?: string | null;
  sessionId?: string | null;
  /** CLIENT when left out. */
  source?: EventSource;
  /** Records per logBatch call (default 50). */
  batchSize?: number;
  /** Longest a record waits before it is sent (default 2000 ms). */
  flushIntervalMs?: number;
  /** Records kept while the server cannot be reached; past it new records are dropped (default 10000). */
  maxQueue?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  onDrop?: (report: DropReport) => void;
  /** Failed attempts (they are retried); for diagnostics. */
  onError?: (error: unknown) => void;
  /** Flush when the page is hidden or the Node process is about to exit (default true). */
  flushOnExit?: boolean;
  fetch?: typeof fetch;
}

interface Queued {
  seq: number;
  input: LogInput;
}

/** An answer that a retry may fix (network, 5xx, 429, DATABASE_UNAVAILABLE) or not. */
class SendFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly rejectedIndex: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const runtime = globalThis as any;

function randomKey(): string {
  if (typeof runtime.crypto?.randomUUID === 'function') return runtime.crypto.randomUUID();
  const bytes: Uint8Array = runtime.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Queues records and sends them with `logBatch`, by size and by time. Every record gets an
 * idempotency key when it is logged, so a batch retried after a lost answer stores nothing twice.
 * While the server cannot be reached, records wait in a bounded queue; what does not fit is
 * dropped and reported (`onDrop`, `stats().dropped`).
 */
export class Logger {
  private readonly queue: Queued[] = [];
  private readonly options: Required<Pick<LoggerOptions, 'batchSize' | 'flushIntervalMs' | 'maxQueue' | 'retryInitialMs' | 'retryMaxMs'>> & LoggerOptions;
  private readonly fetcher: typeof fetch;
  private seq = 0;
  private doneSeq = 0;
  private sent = 0;
  private dropped = 0;
  private pumping: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];
  private readonly uninstall: Array<() => void> = [];

  constructor(options: LoggerOptions) {
    this.options = { batchSize: 50, flushIntervalMs: 2000, maxQueue: 10_000, retryInitialMs: 500, retryMaxMs: 30_000, ...options };
    new URL(options.url); // a URL that cannot be fetched is a mistake, not an outage to retry
    const fetcher = options.fetch ?? runtime.fetch;
    if (typeof fetcher !== 'function') throw new Error('Logger needs fetch (Node 18+, any browser) or options.fetch');
    this.fetcher = fetcher.bind(runtime);
    if (options.flushOnExit !== false) this.installExitFlush();
  }

  /** Records a message; type `log` unless given. Answers false when the queue was full and the record was dropped. */
  log(message: string, params: Record<string, unknown> = {}, type = 'log'): boolean {
    return this.enqueue({ message, params: { ...params }, type });
  }

  /** Records an error; the server groups errors by their normalised stack trace. */
  error(message: string, stackTrace?: string | null, params: Record<string, unknown> = {}): boolean {
    return this.enqueue({ message, params: { ...params }, type: 'error', stackTrace: stackTrace ?? null });
  }

  /**
   * Logs uncaught errors and unhandled promise rejections. In a browser (or with `target`, any
   * EventTarget) from `error` and `unhandledrejection` events. In Node an uncaught exception is
   * logged, flushed (at most `exitTimeoutMs`) and the process then exits with code 1, as it would
   * have; an unhandled rejection is logged and the process goes on. Returns a function that undoes it.
   */
  captureErrors(options: { target?: EventTarget; exitTimeoutMs?: number } = {}): () => void {
    const target: EventTarget | undefined = options.target ?? (typeof runtime.addEventListener === 'function' ? runtime : undefined);
    const undo: Array<() => void> = [];
    if (target) {
      const onError = (event: Event) => {
        const e = event as Event & { message?: string; error?: { message?: string; stack?: string } };
        this.error(e.error?.message ?? e.message ?? 'Uncaught error', e.error?.stack ?? null, { uncaught: true });
      };
      const onRejection = (event: Event) => {
        const reason = (event as Event & { reason?: unknown }).reason;
        this.error(describe(reason), (reason as { stack?: string } | null)?.stack ?? null, { unhandledRejection: true });
      };
      target.addEventListener('error', onError);
      target.addEventListener('unhandledrejection', onRejection);
      undo.push(() => {
        target.removeEventListener('error', onError);
        target.removeEventListener('unhandledrejection', onRejection);
      });
    } else if (typeof runtime.process?.on === 'function') {
      const proc = runtime.process;
      const onException = (error: unknown) => {
        this.error(describe(error), (error as { stack?: string } | null)?.stack ?? null, { uncaught: true });
        void this.flush({ timeoutMs: options.exitTimeoutMs ?? 2000 }).finally(() => proc.exit(1));
      };
      const onRejection = (reason: unknown) => {
        this.error(describe(reason), (reason as { stack?: string } | null)?.stack ?? null, { unhandledRejection: true });
      };
      proc.on('uncaughtException', onException);
      proc.on('unhandledRejection', onRejection);
      undo.push(() => {
        proc.off('uncaughtException', onException);
        proc.off('unhandledRejection', onRejection);
      });
    }
    const remove = () => undo.splice(0).forEach((f) => f());
    this.uninstall.push(remove);
    return remove;
  }

  /**
   * Resolves when every record logged before the call has been delivered (or dropped); with
   * `timeoutMs`, resolves false if that took longer.
   */
  flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const target = this.seq;
    if (this.doneSeq >= target) return Promise.resolve(true);
    const done = new Promise<boolean>((resolve) => this.waiters.push({ seq: target, resolve: () => resolve(true) }));
    this.pump();
    if (options.timeoutMs === undefined) return done;
    return Promise.race([done, sleep(options.timeoutMs).then(() => false)]);
  }

  /** Flushes, then stops timers and exit hooks; records logged afterwards are dropped. */
  async close(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const flushed = await this.flush(options);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.uninstall.splice(0).forEach((f) => f());
    return flushed;
  }

  stats(): { queued: number; sent: number; dropped: number } {
    return { queued: this.queue.length, sent: this.sent, dropped: this.dropped };
  }

  private enqueue(record: LogRecord): boolean {
    record.user ??= this.options.user ?? null;
    record.sessionId ??= this.options.sessionId ?? null;
    try {
      this.options.defaults?.(record);
    } catch (error) {
      this.options.onError?.(error);
    }
    if (this.closed || this.queue.length >= this.options.maxQueue) {
      this.drop(1, this.closed ? 'closed' : 'queue-full');
      return false;
    }
    this.seq += 1;
    this.queue.push({
      seq: this.seq,
      input: {
        type: record.type,
        message: record.message,
        parameters: record.params,
        user: record.user,
        sessionId: record.sessionId,
        source: this.options.source ?? 'CLIENT',
        occurredAt: new Date().toISOString(),
        stackTrace: record.stackTrace ?? null,
        idempotencyKey: randomKey(),
      },
    });
    if (this.queue.length >= this.options.batchSize) this.pump();
    else this.schedule();
    return true;
  }

  private drop(count: number, reason: string): void {
    this.dropped += count;
    this.options.onDrop?.({ count, reason, total: this.dropped });
  }

  private schedule(): void {
    if (this.timer || this.pumping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, this.options.flushIntervalMs);
    // A pending send alone does not keep a Node process alive; the exit hook flushes instead.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private pump(): void {
    if (this.pumping) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.pumping = this.drain().finally(() => {
      this.pumping = null;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /** Sends batches until the queue is empty; a failed batch is retried (same keys) with backoff. */
  private async drain(keepalive = false): Promise<void> {
    let failures = 0;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      try {
        await this.send(batch.map((q) => q.input), keepalive);
        this.queue.splice(0, batch.length);
        this.sent += batch.length;
        failures = 0;
        this.settle(batch.at(-1)!.seq);
      } catch (error) {
        this.options.onError?.(error);
        if (error instanceof SendFailure && !error.retryable) {
          // A record the server will never take: drop it (or the batch when it names none) and go on.
          const index = error.rejectedIndex;
          const rejected = index !== null && batch[index] ? [batch[index]] : batch;
          for (const q of rejected) this.queue.splice(this.queue.indexOf(q), 1);
          this.drop(rejected.length, `rejected: ${error.code ?? error.message}`);
          this.settle(this.queue[0] ? this.queue[0].seq - 1 : this.seq);
          continue;
        }
        failures += 1;
        const delay = Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** (failures - 1));
        await sleep(delay * (0.75 + Math.random() / 2));
      }
    }
  }

  /** Every record up to `seq` is delivered or dropped: wake the flushes waiting for them. */
  private settle(seq: number): void {
    this.doneSeq = Math.max(this.doneSeq, seq);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.seq <= this.doneSeq) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  private async send(events: LogInput[], keepalive: boolean): Promise<void> {
    const extra = typeof this.options.headers === 'function' ? await this.options.headers() : (this.options.headers ?? {});
    let response: Response;
    try {
      response = await this.fetcher(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...extra },
        body: JSON.stringify({ query: LOG_BATCH_MUTATION, variables: { events } }),
        keepalive,
      });
    } catch (error) {
      throw new SendFailure(`network: ${describe(error)}`, true);
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new SendFailure(`HTTP ${response.status}`, true);
    }
    let body: LogBatchResponse;
    try {
      body = (await response.json()) as LogBatchResponse;
    } catch {
      throw new SendFailure(`HTTP ${response.status}: not a GraphQL answer`, response.status >= 400 ? false : true);
    }
    const error = body.errors?.[0];
    if (!error && body.data?.logBatch) return;
    const code = error?.extensions?.code ?? null;
    const retryable = code === 'DATABASE_UNAVAILABLE' || code === 'INTERNAL_SERVER_ERROR' || error?.extensions?.retryable === true;
    const index = typeof error?.extensions?.index === 'number' ? error.extensions.index : null;
    throw new SendFailure(error?.message ?? `HTTP ${response.status}`, retryable, index, code);
  }

  private installExitFlush(): void {
    if (typeof runtime.addEventListener === 'function' && runtime.document) {
      const onHide = () => {
        // keepalive lets the request outlive the page.
        if (runtime.document.visibilityState === 'hidden' && this.queue.length > 0 && !this.pumping) this.pumping = this.drain(true).finally(() => (this.pumping = null));
      };
      runtime.addEventListener('pagehide', onHide);
      runtime.document.addEventListener('visibilitychange', onHide);
      this.uninstall.push(() => {
        runtime.removeEventListener('pagehide', onHide);
        runtime.document.removeEventListener('visibilitychange', onHide);
      });
    } else if (typeof runtime.process?.on === 'function') {
      // beforeExit comes when nothing else is left to do; sending then keeps the process alive until done.
      const onBeforeExit = () => {
        if (this.queue.length > 0) void this.flush({ timeoutMs: 5000 });
      };
      runtime.process.on('beforeExit', onBeforeExit);
      this.uninstall.push(() => runtime.process.off('beforeExit', onBeforeExit));
    }
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
