import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './types/event.js';
import './types/entity.js';
import './types/entity-activity.js';
import './types/event-type.js';
import './types/log.js';
import './types/user.js';
import './types/export-sink.js';

export const schema = builder.toSchema();

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
