import type { LogInput } from '../audit/model.js';

/**
 * Datameer's user-action log (useraction.log): one flat JSON object per line with kebab-case keys —
 * `timestamp` ("2018-08-02 12:06:17", no zone), `action-type`, `action`, `performed-by-user`,
 * `performer-roles`, `ip-address`, then every additional field, null where the action does not use it.
 */
export type DatameerRecord = Record<string, unknown>;

const CORE_FIELDS = new Set(['timestamp', 'action-type', 'action', 'performed-by-user', 'performer-roles', 'ip-address']);

const FILESYSTEM_VERBS: Record<string, string> = { CREATE: 'created', DELETE: 'deleted', EDIT: 'edited', MOVE: 'moved', RENAME: 'renamed' };

/** Action type → action → event type (FILESYSTEM's file-or-folder actions are decided by the fields set). */
const ACTIONS: Record<string, Record<string, string>> = {
  FILESYSTEM: { IMPORT_APPLICATION: 'application-imported', EXPORT_APPLICATION: 'application-exported' },
  PERMISSION: {
    ADD_GROUP_PERMISSION: 'group-permission-added',
    REMOVE_GROUP_PERMISSION: 'group-permission-removed',
    ADD_FULL_DATA_GROUP_PERMISSION: 'full-data-group-permission-added',
    REMOVE_FULL_DATA_GROUP_PERMISSION: 'full-data-group-permission-removed',
    UPDATE_PERMISSION_OF_OTHERS: 'others-permission-updated',
    UPDATE_FULL_DATA_PERMISSION_OF_OTHERS: 'full-data-others-permission-updated',
    UPDATE_SHARE_FLAG_OF_INFOGRAPHIC: 'share-flag-updated',
    CHANGE_OWNER: 'owner-changed',
  },
  JOB: { START_EXECUTION: 'job-execution-started', STOP_EXECUTION: 'job-execution-stopped', DOWNLOAD_FULL_DATA: 'full-data-downloaded' },
  WORKBOOK: {
    MOVE_COLUMN: 'workbook-column-moved',
    REMOVE_COLUMN: 'workbook-column-removed',
    RENAME_COLUMN: 'workbook-column-renamed',
    CREATE_SHEET: 'workbook-sheet-created',
    REMOVE_SHEET: 'workbook-sheet-removed',
    MOVE_SHEET: 'workbook-sheet-moved',
    LINK_DATASOURCE: 'workbook-datasource-linked',
    ADD_FORMULA: 'workbook-formula-added',
    REMOVE_FORMULA: 'workbook-formula-removed',
    ADD_FILTER: 'workbook-filter-added',
    REMOVE_FILTER: 'workbook-filter-removed',
    ADD_SORT: 'workbook-sort-added',
    REMOVE_SORT: 'workbook-sort-removed',
    ADD_JOIN: 'workbook-join-added',
  },
  AUTHENTICATION: {
    LOGIN: 'login',
    UNABLE_TO_AUTHENTICATE: 'failed-login',
    LOGIN_ATTEMPT_ON_DISABLED_USER: 'login-disabled-account',
    LOGOUT: 'logout',
    SESSION_TIMEOUT: 'session-timeout',
  },
  USER_MANAGEMENT: {
    CREATE_GROUP: 'group-created',
    RENAME_GROUP: 'group-renamed',
    DELETE_GROUP: 'group-deleted',
    CREATE_ROLE: 'role-created',
    RENAME_ROLE: 'role-renamed',
    DELETE_ROLE: 'role-deleted',
    ADD_ROLE_TO_USER: 'role-added-to-user',
    REMOVE_ROLE_FROM_USER: 'role-removed-from-user',
    ADD_USER_TO_GROUP: 'user-added-to-group',
    REMOVE_USER_FROM_GROUP: 'user-removed-from-group',
    CREATE_USER: 'user-created',
    UPDATE_PASSWORD: 'user-password-updated',
    DELETE_USER: 'user-deleted',
    ENABLE_USER: 'user-enabled',
    DISABLE_USER: 'user-disabled',
  },
};

/** Folder actions that exist (there is no "folder edited" in Datameer's table). */
const FOLDER_TYPES = new Set(['folder-created', 'folder-deleted', 'folder-moved', 'folder-renamed']);

export function isDatameerRecord(value: Record<string, unknown>): boolean {
  return 'action-type' in value && 'action' in value;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : typeof value === 'number' ? String(value) : null);

function eventType(record: DatameerRecord): string | null {
  const actionType = str(record['action-type'])?.toUpperCase() ?? '';
  const action = str(record.action)?.toUpperCase() ?? '';
  if (actionType === 'FILESYSTEM' && FILESYSTEM_VERBS[action]) {
    if (str(record['file-uuid']) || str(record['file-path'])) return `file-${FILESYSTEM_VERBS[action]}`;
    const folder = `folder-${FILESYSTEM_VERBS[action]}`;
    return str(record['folder-path']) && FOLDER_TYPES.has(folder) ? folder : null;
  }
  return ACTIONS[actionType]?.[action] ?? null;
}

/** "2018-08-02 12:06:17" is read as UTC (the log has no zone); ISO times with a zone keep theirs. */
export function datameerTime(value: unknown): Date | null {
  const text = str(value);
  if (!text) return null;
  const plain = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(text);
  const date = new Date(plain ? `${text.replace(' ', 'T')}Z` : text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Entity references built from the record's uuid/path fields, so imported actions show in an entity's activity. */
function entityParameters(record: DatameerRecord): Record<string, unknown> {
  const refs: Record<string, unknown> = {};
  const ref = (name: string, type: string, uuidField: string | null, pathField: string) => {
    const id = (uuidField ? str(record[uuidField]) : null) ?? str(record[pathField]);
    if (id) refs[name] = { type, id, name: str(record[pathField]) ?? id };
  };
  ref('file', 'file', 'file-uuid', 'file-path');
  ref('folder', 'folder', null, 'folder-path');
  ref('workbook', 'workbook', 'workbook-uuid', 'workbook-path');
  ref('datasource', 'datasource', 'datasource-uuid', 'datasource-path');
  ref('application', 'application', 'application-uuid', 'application-path');
  return refs;
}

export type Mapped = { input: LogInput; roles: string[] | null } | { skip: string };

/**
 * One Datameer record as an event: its action as one of our built-in types, the performing user
 * (for a failed login, the name that was tried), roles and IP address as parameters, every other
 * field that is set as a parameter under its own name, and entity references for its files,
 * folders, workbooks, data sources and applications.
 */
export function fromDatameer(record: DatameerRecord): Mapped {
  const type = eventType(record);
  if (!type) return { skip: `unknown Datameer action ${String(record['action-type'])} ${String(record.action)}` };
  const occurredAt = datameerTime(record.timestamp);
  if (!occurredAt) return { skip: 'timestamp missing or not a time' };
  const roles = Array.isArray(record['performer-roles']) ? record['performer-roles'].map(String) : null;
  const parameters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!CORE_FIELDS.has(key) && value !== null && value !== undefined && value !== '') parameters[key] = value;
  }
  if (roles) parameters.roles = roles;
  const ip = str(record['ip-address']);
  if (ip) parameters.ipAddress = ip;
  Object.assign(parameters, entityParameters(record));
  const user = str(record['performed-by-user']) ?? (type === 'failed-login' || type === 'login-disabled-account' ? str(record['user-name']) : null);
  const subject = str(record['file-path']) ?? str(record['folder-path']) ?? str(record['workbook-path']) ?? str(record['datasource-path']) ?? str(record['application-path']) ?? str(record['group-name']) ?? str(record['role-name']) ?? str(record['user-name']);
  return {
    input: {
      type,
      message: `${String(record['action-type'])} ${String(record.action)}${subject ? ` ${subject}` : ''}`,
      user,
      source: 'SERVER',
      occurredAt,
      parameters,
    },
    roles: user ? roles : null,
  };
}
