import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { EVENT_SOURCES, type EventSource } from '../audit/model.js';
import { exportEvents, type ExportFormat } from '../export/export-events.js';
import type { EventFilter } from '../history/events.js';
import { UsageError, withServices } from './context.js';

const list = (values: string[] | undefined) => (values?.length ? values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) : null);

function time(value: string | undefined, name: string): Date | null {
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name}: "${value}" is not a time`);
  return date;
}

/** The command line's filter, named as EventFilter's fields. */
export function parseExportArgs(args: string[]): { filter: EventFilter; format: ExportFormat; out: string | null } {
  const { values } = parseArgs({
    args,
    options: {
      format: { type: 'string', default: 'jsonl' },
      out: { type: 'string', short: 'o' },
      type: { type: 'string', multiple: true },
      category: { type: 'string', multiple: true },
      user: { type: 'string' },
      group: { type: 'string' },
      entity: { type: 'string' },
      session: { type: 'string' },
      source: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      'errors-only': { type: 'boolean', default: false },
      text: { type: 'string' },
    },
  });
  const format = values.format === 'json' ? 'jsonl' : values.format;
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError(`--format: "${values.format}" is not jsonl or csv`);
  const sources = list(values.source)?.map((s) => s.toUpperCase());
  if (sources?.some((s) => !(EVENT_SOURCES as readonly string[]).includes(s))) throw new UsageError(`--source: one of ${EVENT_SOURCES.join(', ')}`);
  let entity: EventFilter['entity'] = null;
  if (values.entity) {
    const at = values.entity.indexOf(':');
    if (at <= 0) throw new UsageError('--entity: TYPE:ID, as query:42');
    entity = { type: values.entity.slice(0, at), id: values.entity.slice(at + 1) };
  }
  return {
    format,
    out: values.out ?? null,
    filter: {
      types: list(values.type),
      categories: list(values.category),
      user: values.user ?? null,
      group: values.group ?? null,
      entity,
      sessionId: values.session ?? null,
      sources: (sources as EventSource[] | undefined) ?? null,
      since: time(values.since, 'since'),
      until: time(values.until, 'until'),
      errorsOnly: values['errors-only'],
      text: values.text ?? null,
    },
  };
}

export const exportCommand = {
  usage:
    '[--format jsonl|csv] [--out FILE] [--type T]… [--category C]… [--user LOGIN] [--group NAME] [--entity TYPE:ID] [--session ID] [--source S]… [--since TIME] [--until TIME] [--errors-only] [--text TEXT]',
  async run(args: string[]): Promise<number> {
    const { filter, format, out } = parseExportArgs(args);
    return withServices(async (services) => {
      const stream = out ? createWriteStream(out) : process.stdout;
      const written = await exportEvents(services.db, filter, format, stream);
      if (out) {
        stream.end();
        await finished(stream);
      }
      console.error(`exported ${written} events${out ? ` to ${out}` : ''}`);
      return 0;
    });
  },
};
