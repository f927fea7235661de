import type { Limits } from '../env.js';
import { AuditError } from '../errors.js';
import { checkTypeName } from './event-types.js';
import { redactEvent } from './redact.js';
import { byNameThenPosition, type EntityRef, type EventSource, type LogInput } from './model.js';

/** One parameter value ready to store: a plain value or one entity of a (list of) reference(s). */
export interface PreparedParameter {
  name: string;
  position: number;
  value: string | null;
  entity: EntityRef | null;
}

/** An input event after validation and defaults: everything the store needs, nothing unchecked. */
export interface PreparedEvent {
  index: number;
  type: string;
  description: string | null;
  parameters: PreparedParameter[];
  userLogin: string | null;
  sessionId: string | null;
  source: EventSource;
  occurredAt: Date;
  durationMs: number | null;
  errorMessage: string | null;
  stackTrace: string | null;
  idempotencyKey: string | null;
}

const MAX_NAME = 200;
const MAX_ENTITY_ID = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

type Where = { index: number; prefix: string };

function fail(code: 'BAD_USER_INPUT' | 'INVALID_PARAMETERS' | 'VALUE_TOO_LONG' | 'TIMESTAMP_IN_FUTURE', where: Where, field: string, message: string): never {
  throw new AuditError(code, `${where.prefix}${field}: ${message}`, { index: where.index, field });
}

function text(value: string | null | undefined, max: number, where: Where, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > max) fail('VALUE_TOO_LONG', where, field, `is ${value.length} characters long; the limit is ${max}`);
  return value;
}

function name(value: string | null | undefined, where: Where, field: string): string | null {
  const trimmed = text(value?.trim(), MAX_NAME, where, field);
  if (trimmed === '') fail('BAD_USER_INPUT', where, field, 'must not be empty');
  return trimmed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{type, id, name?}` and nothing else: the shape that marks a parameter as an entity reference. */
function asEntityRef(value: unknown): EntityRef | null {
  if (!isPlainObject(value)) return null;
  const keys = Object.keys(value);
  if (!keys.every((k) => k === 'type' || k === 'id' || k === 'name')) return null;
  const { type, id, name: entityName } = value;
  if (typeof type !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) return null;
  if (entityName !== undefined && entityName !== null && typeof entityName !== 'string') return null;
  return { type, id: String(id), name: entityName ?? null };
}

function checkEntity(ref: EntityRef, where: Where, field: string): EntityRef {
  checkTypeName(ref.type, `${where.prefix}${field}.type`, { index: where.index });
  if (ref.id.length === 0 || ref.id.length > MAX_ENTITY_ID) {
    fail('INVALID_PARAMETERS', where, `${field}.id`, `must be 1 to ${MAX_ENTITY_ID} characters`);
  }
  return { type: ref.type, id: ref.id, name: text(ref.name, MAX_NAME, where, `${field}.name`) };
}

function prepareParameters(raw: unknown, limits: Limits, where: Where): { parameters: PreparedParameter[]; stackTrace: string | null } {
  if (raw === null || raw === undefined) return { parameters: [], stackTrace: null };
  if (!isPlainObject(raw)) fail('INVALID_PARAMETERS', where, 'parameters', 'must be a JSON object of name → value');
  const entries = Object.entries(raw);
  if (entries.length > limits.MAX_PARAMETERS) {
    fail('INVALID_PARAMETERS', where, 'parameters', `has ${entries.length} entries; the limit is ${limits.MAX_PARAMETERS}`);
  }
  const parameters: PreparedParameter[] = [];
  let stackTrace: string | null = null;
  for (const [key, value] of entries) {
    const field = `parameters.${key}`;
    if (key.length === 0 || key.length > MAX_NAME) fail('INVALID_PARAMETERS', where, 'parameters', `a name must be 1 to ${MAX_NAME} characters`);
    // Datagrok's clients pass an error's stack trace as a parameter: it belongs in the event itself.
    if (key === 'stackTrace' && typeof value === 'string') {
      stackTrace = text(value, limits.MAX_STACK_TRACE_LENGTH, where, field);
      continue;
    }
    const single = asEntityRef(value);
    const list = Array.isArray(value) && value.length > 0 ? value.map(asEntityRef) : null;
    if (single) {
      parameters.push({ name: key, position: 0, value: single.id, entity: checkEntity(single, where, field) });
    } else if (list && list.every((ref) => ref !== null)) {
      if (list.length > 1000) fail('INVALID_PARAMETERS', where, field, 'lists at most 1000 entities');
      list.forEach((ref, position) =>
        parameters.push({ name: key, position, value: ref.id, entity: checkEntity(ref, where, `${field}[${position}]`) }),
      );
    } else {
      const stored = value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
      parameters.push({ name: key, position: 0, value: text(stored, limits.MAX_PARAMETER_VALUE_LENGTH, where, field), entity: null });
    }
  }
  return { parameters, stackTrace };
}

/** Checks one input event and fills its defaults; throws an AuditError naming the event and field. */
export function prepareEvent(input: LogInput, index: number, limits: Limits, now: Date, inBatch: boolean): PreparedEvent {
  const where: Where = { index, prefix: inBatch ? `events[${index}].` : '' };
  const type = input.type ?? 'log';
  checkTypeName(type, `${where.prefix}type`, { index });
  const { parameters, stackTrace: stackFromParameters } = prepareParameters(input.parameters, limits, where);
  const occurredAt = input.occurredAt ?? now;
  if (Number.isNaN(occurredAt.getTime())) fail('BAD_USER_INPUT', where, 'occurredAt', 'is not a valid time');
  if (occurredAt.getTime() > now.getTime() + limits.MAX_CLOCK_SKEW_SECONDS * 1000) {
    fail('TIMESTAMP_IN_FUTURE', where, 'occurredAt', `${occurredAt.toISOString()} is more than ${limits.MAX_CLOCK_SKEW_SECONDS} s in the future`);
  }
  const durationMs = input.durationMs ?? null;
  if (durationMs !== null && !(Number.isFinite(durationMs) && durationMs >= 0)) {
    fail('BAD_USER_INPUT', where, 'durationMs', 'must be a finite number ≥ 0');
  }
  const sessionId = input.sessionId ?? null;
  if (sessionId !== null && !isUuid(sessionId)) fail('BAD_USER_INPUT', where, 'sessionId', 'is not a session id (a UUID)');
  const event = redactEvent({
    index,
    type,
    description: text(input.message, limits.MAX_MESSAGE_LENGTH, where, 'message'),
    parameters,
    userLogin: name(input.user, where, 'user'),
    sessionId,
    source: input.source ?? 'API',
    occurredAt: new Date(Math.floor(occurredAt.getTime())),
    durationMs,
    errorMessage: text(input.errorMessage, limits.MAX_MESSAGE_LENGTH, where, 'errorMessage'),
    stackTrace: text(input.stackTrace, limits.MAX_STACK_TRACE_LENGTH, where, 'stackTrace') ?? stackFromParameters,
    idempotencyKey: name(input.idempotencyKey, where, 'idempotencyKey'),
  }, limits.REDACT_PARAMETER_NAMES);
  event.parameters.sort(byNameThenPosition);
  return event;
}
