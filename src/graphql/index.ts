import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './types/event.js';
import './types/entity.js';
import './types/entity-activity.js';
import './types/event-type.js';
import './types/group.js';
import './types/log.js';
import './types/retention.js';
import './types/logger-settings.js';
import './types/user.js';
import './types/error-group.js';
import './types/performance.js';
import './types/usage.js';
import './types/function-usage.js';
import './types/lineage.js';
import './types/usage-patterns.js';
import './types/changes.js';
import './types/suggestion.js';
import './types/api-key.js';
import './types/integrity.js';
import './types/checkpoint.js';
import './types/viewer-token.js';
import './types/export-sink.js';

export const schema = builder.toSchema();

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
