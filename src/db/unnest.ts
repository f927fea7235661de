import { sql, type SQL } from 'drizzle-orm';

/** PostgreSQL element types the write path sends as arrays. */
export type ArrayElementType = 'bigint' | 'int' | 'smallint' | 'text' | 'uuid' | 'timestamptz' | 'boolean' | 'float8';

export type Cell = string | number | boolean | Date | null | undefined;

/** One element of an array literal: NULL unquoted, everything else quoted with `\` and `"` escaped. */
function element(value: Cell): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = value instanceof Date ? value.toISOString() : value;
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * A column of values as the text of a PostgreSQL array literal, e.g. `{"a",NULL,"b\\"c"}`. A JSON
 * array with no backslash in it (no escapes) is already such a literal once its brackets are braces,
 * and JSON.stringify is native: that is the common case; anything escaped goes element by element.
 */
export function arrayLiteral(values: readonly Cell[]): string {
  const json = JSON.stringify(values);
  if (!json.includes('\\')) return `{${json.slice(1, -1)}}`;
  let literal = '{';
  for (let i = 0; i < values.length; i++) literal += (i === 0 ? '' : ',') + element(values[i]);
  return `${literal}}`;
}

/**
 * Rows as `unnest($1::t1[], $2::t2[], …) as alias(c1, c2, …)`: a whole table's rows in one statement
 * with one parameter per column. PostgreSQL parses typed arrays about twice as fast as the same rows
 * in JSON (`json_to_recordset`), which matters on the write path (bench/README.md, Ingestion).
 */
export function unnestRows<Columns extends Record<string, ArrayElementType>>(
  alias: string,
  columns: Columns,
  rows: ReadonlyArray<{ [K in keyof Columns]: Cell }>,
): SQL {
  const names = Object.keys(columns);
  const arrays = names.map((name) => sql`${arrayLiteral(rows.map((row) => (row as Record<string, Cell>)[name]))}::${sql.raw(columns[name]!)}[]`);
  return sql`unnest(${sql.join(arrays, sql`, `)}) as ${sql.raw(alias)}(${sql.raw(names.join(', '))})`;
}
