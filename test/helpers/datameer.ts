/**
 * One row per action of the reference table (datameer-user-action-log.txt): action type, action,
 * the additional fields it sets, and the event type it must become.
 */
export const DATAMEER_ACTIONS: Array<[actionType: string, action: string, fields: string[], expected: string]> = [
  ['FILESYSTEM', 'CREATE', ['file-uuid', 'file-path', 'file-type-id', 'connection-id', 'connection-name', 'connection-type-id'], 'file-created'],
  ['FILESYSTEM', 'DELETE', ['file-uuid', 'file-path'], 'file-deleted'],
  ['FILESYSTEM', 'EDIT', ['file-uuid', 'file-path'], 'file-edited'],
  ['FILESYSTEM', 'MOVE', ['file-uuid', 'file-path'], 'file-moved'],
  ['FILESYSTEM', 'RENAME', ['file-uuid', 'file-path', 'old-name'], 'file-renamed'],
  ['FILESYSTEM', 'CREATE', ['folder-path'], 'folder-created'],
  ['FILESYSTEM', 'DELETE', ['folder-path'], 'folder-deleted'],
  ['FILESYSTEM', 'MOVE', ['folder-path'], 'folder-moved'],
  ['FILESYSTEM', 'RENAME', ['folder-path', 'old-name'], 'folder-renamed'],
  ['FILESYSTEM', 'IMPORT_APPLICATION', ['application-uuid', 'application-path'], 'application-imported'],
  ['FILESYSTEM', 'EXPORT_APPLICATION', ['application-uuid', 'application-path'], 'application-exported'],
  ['PERMISSION', 'ADD_GROUP_PERMISSION', ['file-uuid', 'file-path', 'group-name', 'read-permission', 'write-permission', 'execute-permission'], 'group-permission-added'],
  ['PERMISSION', 'ADD_GROUP_PERMISSION', ['folder-path', 'group-name', 'read-permission', 'write-permission'], 'group-permission-added'],
  ['PERMISSION', 'ADD_FULL_DATA_GROUP_PERMISSION', ['file-uuid', 'file-path', 'group-name', 'read-permission', 'write-permission', 'execute-permission'], 'full-data-group-permission-added'],
  ['PERMISSION', 'REMOVE_FULL_DATA_GROUP_PERMISSION', ['file-uuid', 'file-path', 'group-name'], 'full-data-group-permission-removed'],
  ['PERMISSION', 'REMOVE_GROUP_PERMISSION', ['file-uuid', 'file-path', 'group-name'], 'group-permission-removed'],
  ['PERMISSION', 'REMOVE_GROUP_PERMISSION', ['folder-path', 'group-name'], 'group-permission-removed'],
  ['PERMISSION', 'UPDATE_PERMISSION_OF_OTHERS', ['file-uuid', 'file-path', 'read-permission', 'write-permission', 'execute-permission'], 'others-permission-updated'],
  ['PERMISSION', 'UPDATE_PERMISSION_OF_OTHERS', ['folder-path', 'read-permission', 'write-permission'], 'others-permission-updated'],
  ['PERMISSION', 'UPDATE_SHARE_FLAG_OF_INFOGRAPHIC', ['file-uuid', 'file-path', 'shared-public'], 'share-flag-updated'],
  ['PERMISSION', 'UPDATE_FULL_DATA_PERMISSION_OF_OTHERS', ['file-uuid', 'file-path', 'read-permission', 'write-permission', 'execute-permission'], 'full-data-others-permission-updated'],
  ['PERMISSION', 'CHANGE_OWNER', ['file-uuid', 'file-path', 'new-owner'], 'owner-changed'],
  ['PERMISSION', 'CHANGE_OWNER', ['folder-path', 'new-owner'], 'owner-changed'],
  ['JOB', 'START_EXECUTION', ['execution-id', 'execution-type', 'execution-triggered-by', 'execution-job-schedule', 'execution-configuration-path', 'execution-configuration-uuid', 'execution-job-status', 'execution-job-user'], 'job-execution-started'],
  ['JOB', 'STOP_EXECUTION', ['execution-id', 'execution-type', 'execution-triggered-by', 'execution-job-schedule', 'execution-configuration-path', 'execution-configuration-uuid', 'execution-job-status', 'execution-job-user', 'data-uuid', 'data-path'], 'job-execution-stopped'],
  ['JOB', 'DOWNLOAD_FULL_DATA', ['workbook-uuid', 'workbook-path'], 'full-data-downloaded'],
  ['JOB', 'DOWNLOAD_FULL_DATA', ['datasource-uuid', 'datasource-path'], 'full-data-downloaded'],
  ['WORKBOOK', 'MOVE_COLUMN', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'workbook-sheet-column-name', 'workbook-sheet-column-index'], 'workbook-column-moved'],
  ['WORKBOOK', 'REMOVE_COLUMN', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'workbook-sheet-column-name'], 'workbook-column-removed'],
  ['WORKBOOK', 'RENAME_COLUMN', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'workbook-sheet-column-name', 'old-name'], 'workbook-column-renamed'],
  ['WORKBOOK', 'CREATE_SHEET', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-sheet-created'],
  ['WORKBOOK', 'REMOVE_SHEET', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-sheet-removed'],
  ['WORKBOOK', 'MOVE_SHEET', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-sheet-moved'],
  ['WORKBOOK', 'LINK_DATASOURCE', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'datasource-uuid', 'datasource-path'], 'workbook-datasource-linked'],
  ['WORKBOOK', 'ADD_FORMULA', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'workbook-sheet-column-index'], 'workbook-formula-added'],
  ['WORKBOOK', 'REMOVE_FORMULA', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name', 'workbook-sheet-column-index'], 'workbook-formula-removed'],
  ['WORKBOOK', 'ADD_FILTER', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-filter-added'],
  ['WORKBOOK', 'REMOVE_FILTER', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-filter-removed'],
  ['WORKBOOK', 'ADD_SORT', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-sort-added'],
  ['WORKBOOK', 'REMOVE_SORT', ['workbook-uuid', 'workbook-path', 'workbook-sheet-name'], 'workbook-sort-removed'],
  ['WORKBOOK', 'ADD_JOIN', ['workbook-uuid', 'workbook-path', 'workbook-join-sheets'], 'workbook-join-added'],
  ['AUTHENTICATION', 'LOGIN', [], 'login'],
  ['AUTHENTICATION', 'UNABLE_TO_AUTHENTICATE', ['user-name'], 'failed-login'],
  ['AUTHENTICATION', 'LOGIN_ATTEMPT_ON_DISABLED_USER', ['user-name'], 'login-disabled-account'],
  ['AUTHENTICATION', 'LOGOUT', [], 'logout'],
  ['AUTHENTICATION', 'SESSION_TIMEOUT', [], 'session-timeout'],
  ['USER_MANAGEMENT', 'CREATE_GROUP', ['group-name'], 'group-created'],
  ['USER_MANAGEMENT', 'RENAME_GROUP', ['group-name', 'old-name'], 'group-renamed'],
  ['USER_MANAGEMENT', 'DELETE_GROUP', ['group-name'], 'group-deleted'],
  ['USER_MANAGEMENT', 'CREATE_ROLE', ['role-name'], 'role-created'],
  ['USER_MANAGEMENT', 'RENAME_ROLE', ['role-name', 'old-name'], 'role-renamed'],
  ['USER_MANAGEMENT', 'DELETE_ROLE', ['role-name'], 'role-deleted'],
  ['USER_MANAGEMENT', 'REMOVE_ROLE_FROM_USER', ['user-name', 'role-name'], 'role-removed-from-user'],
  ['USER_MANAGEMENT', 'ADD_ROLE_TO_USER', ['user-name', 'role-name'], 'role-added-to-user'],
  ['USER_MANAGEMENT', 'REMOVE_USER_FROM_GROUP', ['group-name', 'user-name'], 'user-removed-from-group'],
  ['USER_MANAGEMENT', 'ADD_USER_TO_GROUP', ['group-name', 'user-name'], 'user-added-to-group'],
  ['USER_MANAGEMENT', 'CREATE_USER', ['user-name'], 'user-created'],
  ['USER_MANAGEMENT', 'UPDATE_PASSWORD', ['user-name'], 'user-password-updated'],
  ['USER_MANAGEMENT', 'DELETE_USER', ['user-name'], 'user-deleted'],
  ['USER_MANAGEMENT', 'ENABLE_USER', ['user-name'], 'user-enabled'],
  ['USER_MANAGEMENT', 'DISABLE_USER', ['user-name'], 'user-disabled'],
];

const ALL_FIELDS = [...new Set(['root-uuid', 'old-path', ...DATAMEER_ACTIONS.flatMap(([, , fields]) => fields)])];

/** A value for a field that the test can recognise: booleans for permissions, numbers for indexes. */
export function fieldValue(field: string, row: number): unknown {
  if (field.endsWith('-permission') || field === 'shared-public') return row % 2 === 0;
  if (field.endsWith('-index')) return row;
  if (field.endsWith('-path')) return `/home/analyst/${field}-${row}`;
  return `${field}-${row}`;
}

export function user(row: number): string {
  return row % 2 === 0 ? 'anna' : 'ben';
}

/** The lines of a useraction.log: every field present, null where the action does not use it, as Datameer writes them. */
export function datameerLines(): string[] {
  return DATAMEER_ACTIONS.map(([actionType, action, fields], row) => {
    const failed = action === 'UNABLE_TO_AUTHENTICATE' || action === 'LOGIN_ATTEMPT_ON_DISABLED_USER';
    const record: Record<string, unknown> = {
      timestamp: `2018-08-02 12:${String(Math.floor(row / 60)).padStart(2, '0')}:${String(row % 60).padStart(2, '0')}`,
      'action-type': actionType,
      action,
      'performed-by-user': failed ? null : user(row),
      'performer-roles': failed ? [] : row % 2 === 0 ? ['ADMIN', 'ANALYST'] : ['ANALYST'],
      'ip-address': `10.1.0.${row}`,
    };
    for (const field of ALL_FIELDS) record[field] = fields.includes(field) ? fieldValue(field, row) : null;
    return JSON.stringify(record);
  });
}
