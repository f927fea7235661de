import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Ingestor } from '../audit/ingest.js';
import { EVENT_SOURCES, type EventSource, type LogInput } from '../audit/model.js';
import type { Db } from '../db/client.js';
import { AuditError } from '../errors.js';
import { datameerTime, fromDatameer, isDatameerRecord } from './datameer.js';

export interface ImportSummary {
  /** Non-empty lines read. */
  read: number;
  stored: number;
  skipped: number;
  /** Reason → lines skipped for it. */
  reasons: Record<string, number>;
  /** The first skipped lines, with their numbers, to look at. */
  examples: Array<{ line: number; reason: string; detail?: string }>;
}

export interface ImportOptions {
  batchSize: number;
  /** Called after each batch with the lines read so far. */
  onProgress?: (summary: ImportSummary) => void;
}

const MAX_EXAMPLES = 20;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * One of our own lines (what `export` and the file sink write: see record.ts) or a plain log input
 * (`type`, `message`, `user`, `parameters`, `occurredAt`, …) as an event.
 */
function fromRecord(record: Record<string, unknown>): { input: LogInput } | { skip: string } {
  const when = record.occurredAt ?? record.timestamp;
  const occurredAt = when === undefined || when === null ? null : datameerTime(when);
  if (when !== undefined && when !== null && !occurredAt) return { skip: 'timestamp is not a time' };
  const source = typeof record.source === 'string' && (EVENT_SOURCES as readonly string[]).includes(record.source) ? (record.source as EventSource) : null;
  const parameters = record.parameters ?? record.params ?? null;
  return {
    input: {
      type: optionalString(record.type),
      message: optionalString(record.message),
      user: optionalString(record.user),
      source,
      occurredAt,
      durationMs: typeof record.durationMs === 'number' ? record.durationMs : null,
      errorMessage: optionalString(record.errorMessage),
      stackTrace: optionalString(record.stackTrace),
      parameters,
    },
  };
}

/**
 * Imports JSON lines — Datameer user-action records, this service's own export lines, or plain log
 * inputs — through the ingest pipeline in batches. Each event's idempotency key is a hash of its
 * line, so importing a file again (or a file that overlaps an earlier one) stores nothing twice.
 * A line that cannot be an event is skipped with its reason; the rest of its batch is stored.
 */
export async function importLines(db: Db, ingestor: Ingestor, lines: AsyncIterable<string>, options: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { read: 0, stored: 0, skipped: 0, reasons: {}, examples: [] };
  const skip = (line: number, reason: string, detail?: string) => {
    summary.skipped += 1;
    summary.reasons[reason] = (summary.reasons[reason] ?? 0) + 1;
    if (summary.examples.length < MAX_EXAMPLES) summary.examples.push(detail ? { line, reason, detail } : { line, reason });
  };
  /** The newest roles seen per user, applied at the end. */
  const roles = new Map<string, { at: number; roles: string[] }>();
  let batch: Array<{ line: number; input: LogInput }> = [];

  const flush = async () => {
    let pending = batch;
    batch = [];
    while (pending.length > 0) {
      try {
        const outcomes = await ingestor.logBatch(pending.map((p) => p.input));
        outcomes.forEach((outcome, i) => (outcome.duplicate ? skip(pending[i]!.line, 'already stored') : (summary.stored += 1)));
        pending = [];
      } catch (error) {
        // One bad event rejects its batch: set it aside with the reason and store the others.
        const index = error instanceof AuditError ? error.details.index : undefined;
        if (typeof index !== 'number' || !pending[index]) throw error;
        const { code, details, message } = error as AuditError;
        skip(pending[index].line, `${code} in ${String(details.field ?? 'event').replace(/^events\[\d+\]\./, '')}`, message.replace(/^events\[\d+\]\./, ''));
        pending = pending.filter((_, i) => i !== index);
      }
    }
    options.onProgress?.(summary);
  };

  let lineNumber = 0;
  for await (const raw of lines) {
    lineNumber += 1;
    const text = raw.trim();
    if (text === '') continue;
    summary.read += 1;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      skip(lineNumber, 'not JSON');
      continue;
    }
    if (!isObject(record)) {
      skip(lineNumber, 'not a JSON object');
      continue;
    }
    const mapped = isDatameerRecord(record) ? fromDatameer(record) : fromRecord(record);
    if ('skip' in mapped) {
      skip(lineNumber, mapped.skip);
      continue;
    }
    const input = { ...mapped.input, idempotencyKey: `import:${createHash('sha256').update(text).digest('base64url')}` };
    const userRoles = 'roles' in mapped ? (mapped.roles as string[] | null) : null;
    if (userRoles && input.user) {
      const at = input.occurredAt?.getTime() ?? 0;
      if ((roles.get(input.user)?.at ?? -Infinity) <= at) roles.set(input.user, { at, roles: userRoles });
    }
    batch.push({ line: lineNumber, input });
    if (batch.length >= options.batchSize) await flush();
  }
  await flush();
  if (roles.size > 0) {
    const rows = [...roles].map(([login, r]) => ({ login, roles: r.roles }));
    await db.execute(sql`
      update users u set roles = array(select json_array_elements_text(r.roles))
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(login text, roles json)
      where u.login = r.login`);
  }
  return summary;
}
