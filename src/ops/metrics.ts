import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LogOutcome } from '../audit/ingest.js';
import { AuditError, isConnectionError } from '../errors.js';

/** What the Ingestor reports about each log/logBatch call (its one metrics hook). */
export interface IngestMetrics {
  observe(posted: number, result: { outcomes: LogOutcome[] } | { error: unknown }, seconds: number): void;
}

/** Why a posted event was not stored now: a duplicate idempotency key, or the error code of its batch. */
export function leftOutReason(error: unknown): string {
  if (error instanceof AuditError) return error.code;
  if (isConnectionError(error)) return 'DATABASE_UNAVAILABLE';
  return 'INTERNAL_SERVER_ERROR';
}

/**
 * The Prometheus metrics of one process (its own registry, so several servers in one test process
 * do not collide). Served at /metrics.
 */
export class Metrics implements IngestMetrics {
  readonly registry = new Registry();
  private readonly received = new Counter({ name: 'audit_events_received_total', help: 'Events posted to log and logBatch.', registers: [this.registry] });
  private readonly recorded = new Counter({ name: 'audit_events_recorded_total', help: 'Events stored (new rows).', registers: [this.registry] });
  private readonly leftOut = new Counter({
    name: 'audit_events_left_out_total',
    help: 'Posted events not stored now, by reason: duplicate (idempotency key already stored) or the error code of the rejected batch.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly writeSeconds = new Histogram({
    name: 'audit_write_duration_seconds',
    help: 'Time of one log/logBatch call in the write path (validation, transaction, publish).',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly exportLagSources = new Map<string, () => number | null | Promise<number | null>>();

  constructor(openSubscriptions: () => number) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'audit_open_subscriptions',
      help: 'Live subscriptions served by this process.',
      registers: [this.registry],
      collect() {
        this.set(openSubscriptions());
      },
    });
    const sources = this.exportLagSources;
    new Gauge({
      name: 'audit_export_lag_seconds',
      help: 'Age of the oldest committed event an exporter has not delivered yet (0 when caught up), per exporter.',
      labelNames: ['exporter'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [exporter, lag] of sources) {
          const value = await Promise.resolve(lag()).catch(() => null);
          if (value !== null) this.set({ exporter }, value);
        }
      },
    });
  }

  /** Hook for exporters: `lag()` returns the seconds they are behind (null when unknown); read at every scrape. */
  registerExportLag(exporter: string, lag: () => number | null | Promise<number | null>): void {
    this.exportLagSources.set(exporter, lag);
  }

  observe(posted: number, result: { outcomes: LogOutcome[] } | { error: unknown }, seconds: number): void {
    this.received.inc(posted);
    if ('outcomes' in result) {
      const duplicates = result.outcomes.filter((o) => o.duplicate).length;
      this.recorded.inc(result.outcomes.length - duplicates);
      if (duplicates > 0) this.leftOut.inc({ reason: 'duplicate' }, duplicates);
      this.writeSeconds.observe({ outcome: 'ok' }, seconds);
    } else {
      this.leftOut.inc({ reason: leftOutReason(result.error) }, posted);
      this.writeSeconds.observe({ outcome: 'error' }, seconds);
    }
  }
}
