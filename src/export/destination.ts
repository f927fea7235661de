import type { AuditEvent } from '../audit/model.js';

/**
 * Where a sink delivers. The worker hands it one page of committed events at a time; `prepare`
 * splits the page into units that are each sent whole, so that a unit that fails is retried alone
 * and the units before it are not sent twice.
 */
export interface Destination<Unit = unknown> {
  prepare(events: AuditEvent[]): Unit[];
  /** Resolves once the unit is stored at the far end; may answer a warning that is not worth a retry. */
  send(unit: Unit, signal: AbortSignal): Promise<{ delivered: number; warning?: string }>;
  close(): Promise<void>;
}
