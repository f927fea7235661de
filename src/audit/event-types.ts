import { inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { eventTypes } from '../db/schema.js';
import { AuditError } from '../errors.js';
import { builtinEventTypes, CUSTOM_CATEGORY, SERVICE_RECORDED_TYPES } from './catalogue.js';

export type EventTypeRow = typeof eventTypes.$inferSelect;

/** Lower-case words joined by `-`, `.`, `_` or `:` — `query-created`, `resource.update`, `my_log`. */
const TYPE_NAME = /^[a-z0-9]+(?:[-._:][a-z0-9]+)*$/;
const MAX_TYPE_NAME = 100;

export function checkTypeName(name: string, field = 'type', details: Record<string, unknown> = {}): void {
  if (name.length > MAX_TYPE_NAME || !TYPE_NAME.test(name)) {
    throw new AuditError(
      'INVALID_EVENT_TYPE',
      `${field} "${name.slice(0, MAX_TYPE_NAME)}" is not a valid event type name: use lower-case letters and digits separated by "-", ".", "_" or ":" (at most ${MAX_TYPE_NAME} characters)`,
      { ...details, field },
    );
  }
}

/** Refuses, for an event posted by a client, a type that only the service records. */
export function checkClientType(name: string, field = 'type', details: Record<string, unknown> = {}): void {
  if (SERVICE_RECORDED_TYPES.has(name)) {
    throw new AuditError('RESERVED_EVENT_TYPE', `${field} "${name}" is recorded by the audit service itself; clients cannot log it`, { ...details, field });
  }
}

/**
 * The catalogue of event types, cached in memory. Types are never deleted, so a cached row stays
 * valid; a type another instance created is found on the next miss.
 */
export class EventTypeRegistry {
  private readonly byName = new Map<string, EventTypeRow>();

  constructor(private readonly db: Db) {}

  /** Writes the built-in catalogue (idempotent) and loads every type. */
  async seed(): Promise<void> {
    await this.db
      .insert(eventTypes)
      .values(builtinEventTypes.map((t) => ({ ...t, builtin: true })))
      .onConflictDoUpdate({
        target: eventTypes.name,
        set: {
          category: sql`excluded.category`,
          source: sql`excluded.source`,
          standard: sql`excluded.standard`,
          isError: sql`excluded.is_error`,
          friendlyName: sql`excluded.friendly_name`,
          builtin: sql`true`,
        },
      });
    await this.reload();
  }

  async reload(): Promise<EventTypeRow[]> {
    const rows = await this.db.select().from(eventTypes).orderBy(eventTypes.name);
    for (const row of rows) this.byName.set(row.name, row);
    return rows;
  }

  cached(name: string): EventTypeRow | undefined {
    return this.byName.get(name);
  }

  /** The rows for these names, creating custom types for names never seen before. */
  async resolve(names: Iterable<string>): Promise<Map<string, EventTypeRow>> {
    const found = new Map<string, EventTypeRow>();
    const missing: string[] = [];
    for (const name of new Set(names)) {
      const row = this.byName.get(name);
      if (row) found.set(name, row);
      else missing.push(name);
    }
    if (missing.length === 0) return found;
    await this.db
      .insert(eventTypes)
      .values(missing.map((name) => ({ name, category: CUSTOM_CATEGORY, source: 'custom', friendlyName: name })))
      .onConflictDoNothing({ target: eventTypes.name });
    const rows = await this.db.select().from(eventTypes).where(inArray(eventTypes.name, missing));
    for (const row of rows) {
      this.byName.set(row.name, row);
      found.set(row.name, row);
    }
    return found;
  }
}
