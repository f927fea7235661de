import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { importLines, type ImportSummary } from '../export/import.js';
import { UsageError, withServices } from './context.js';

export function formatSummary(summary: ImportSummary): string {
  const lines = [`read ${summary.read}, stored ${summary.stored}, skipped ${summary.skipped}`];
  for (const [reason, count] of Object.entries(summary.reasons).sort((a, b) => b[1] - a[1])) lines.push(`  skipped ${count}: ${reason}`);
  for (const example of summary.examples.slice(0, 10)) lines.push(`  line ${example.line}: ${example.detail ?? example.reason}`);
  return lines.join('\n');
}

export const importCommand = {
  usage: 'FILE [--batch-size N] [--json]   JSON lines: Datameer user actions, this service’s export, or log inputs',
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'batch-size': { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new UsageError('import takes one FILE');
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new UsageError(`cannot read ${file}`);
    }
    return withServices(async (services) => {
      const batchSize = Math.min(Number(values['batch-size'] ?? 500) || 500, services.limits.MAX_BATCH_SIZE);
      const stream = createReadStream(file, { encoding: 'utf8' });
      const bar = new SingleBar({ stream: process.stderr, format: 'import [{bar}] {percentage}% | {value}/{total} bytes | stored {stored} skipped {skipped}', hideCursor: true }, Presets.shades_classic);
      bar.start(size, 0, { stored: 0, skipped: 0 });
      try {
        const summary = await importLines(services.db, services.ingestor, createInterface({ input: stream, crlfDelay: Infinity }), {
          batchSize,
          onProgress: (s) => bar.update(stream.bytesRead, { stored: s.stored, skipped: s.skipped }),
        });
        bar.update(size);
        bar.stop();
        console.log(values.json ? JSON.stringify(summary) : formatSummary(summary));
        return 0;
      } finally {
        bar.stop();
      }
    });
  },
};
