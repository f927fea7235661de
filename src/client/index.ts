export { Logger, type DropReport, type LogRecord, type LoggerOptions } from './logger.js';
export { LOG_BATCH_MUTATION, LOG_INPUT_FIELDS, type EventSource, type LogInput } from './types.js';
