import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEvent } from '../audit/model.js';
import type { Destination } from './destination.js';
import { eventLevel, eventRecord } from './record.js';
import type { FileConfig } from './sinks.js';

/**
 * A file that rolls over at a size limit and keeps N backups, named as log4j's RollingFileAppender
 * names them (and Datameer's useraction.log therefore): `file`, `file.1` (the newest backup) …
 * `file.N`. Lines are never split across files; a line longer than the limit gets a file of its own.
 * Small on purpose: rotation has to happen between two lines of one delivery, synchronously with
 * our cursor, which the stream-based rotating-file libraries do not promise.
 */
export class RollingFile {
  private handle: FileHandle | null = null;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly maxBackups: number,
  ) {}

  /** Appends the lines (each ends with a newline), rolling over wherever the limit requires, then syncs. */
  async append(lines: string[]): Promise<void> {
    await this.open();
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const writeChunk = async () => {
      if (chunkBytes === 0) return;
      await this.handle!.write(Buffer.concat(chunk, chunkBytes));
      this.size += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    for (const line of lines) {
      const bytes = Buffer.from(line.endsWith('\n') ? line : `${line}\n`, 'utf8');
      if (this.size + chunkBytes > 0 && this.size + chunkBytes + bytes.length > this.maxBytes) {
        await writeChunk();
        await this.handle!.sync();
        await this.roll();
      }
      chunk.push(bytes);
      chunkBytes += bytes.length;
    }
    await writeChunk();
    await this.handle!.sync();
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }

  private async open(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
    this.size = (await stat(this.path)).size;
    return this.handle;
  }

  /** file.N-1 → file.N … file → file.1; the oldest backup beyond N is deleted. */
  private async roll(): Promise<void> {
    await this.close();
    if (this.maxBackups === 0) {
      await rm(this.path, { force: true });
    } else {
      await rm(`${this.path}.${this.maxBackups}`, { force: true });
      for (let i = this.maxBackups - 1; i >= 1; i--) {
        await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
      await rename(this.path, `${this.path}.1`);
    }
    await this.open();
  }
}

export interface FileBatch {
  lines: string[];
}

/** A file sink: one JSON object per line (see record.ts), filtered by type, category and level. */
export class FileDestination implements Destination<FileBatch> {
  private readonly file: RollingFile;

  constructor(
    path: string,
    private readonly config: FileConfig,
  ) {
    this.file = new RollingFile(path, config.maxFileSizeBytes, config.maxBackups);
  }

  prepare(events: AuditEvent[]): FileBatch[] {
    const { types, categories, levels } = this.config;
    const lines = events
      .filter((e) => (!types || types.includes(e.type)) && (!categories || categories.includes(e.category)) && levels.includes(eventLevel(e)))
      .map((e) => JSON.stringify(eventRecord(e)));
    return lines.length > 0 ? [{ lines }] : [];
  }

  async send(batch: FileBatch): Promise<{ delivered: number }> {
    try {
      await this.file.append(batch.lines);
    } catch (error) {
      // A half-written append is retried whole: reopen so the size is read from the disk again.
      await this.file.close().catch(() => undefined);
      throw error;
    }
    return { delivered: batch.lines.length };
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
