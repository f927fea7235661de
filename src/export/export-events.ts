import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Db } from '../db/client.js';
import { findEvents, type EventFilter } from '../history/events.js';
import { eventRecord, type EventRecord } from './record.js';

export type ExportFormat = 'jsonl' | 'csv';

const CSV_COLUMNS: Array<keyof EventRecord> = [
  'id', 'timestamp', 'recordedAt', 'type', 'category', 'level', 'user', 'sessionId', 'source',
  'message', 'durationMs', 'errorMessage', 'stackTrace', 'fingerprint', 'params',
];

/**
 * A CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (= + - @ first) gets a
 * leading apostrophe: audit data holds what users typed.
 */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(record: EventRecord, format: ExportFormat): string {
  return format === 'jsonl' ? `${JSON.stringify(record)}\n` : `${CSV_COLUMNS.map((c) => csvCell(record[c])).join(',')}\r\n`;
}

/**
 * Writes the events matching the filter, newest first, one keyset page at a time and waiting for
 * the output to drain: memory stays flat however many events match. Returns how many it wrote.
 */
export async function exportEvents(
  db: Db,
  filter: EventFilter,
  format: ExportFormat,
  out: Writable,
  options: { pageSize?: number; onPage?: (written: number) => void } = {},
): Promise<number> {
  const pageSize = options.pageSize ?? 500;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
  let written = 0;
  let after: string | null = null;
  for (;;) {
    const page = await findEvents(db, filter, { first: pageSize, after });
    if (page.edges.length > 0) {
      await write(page.edges.map((edge) => line(eventRecord(edge.node), format)).join(''));
      written += page.edges.length;
      options.onPage?.(written);
    }
    if (!page.pageInfo.hasNextPage) return written;
    after = page.pageInfo.endCursor;
  }
}
