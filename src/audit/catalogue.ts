/**
 * The built-in event types, seeded at every start. `standard` says whether the Standard logging
 * level records the type; `source` follows Datagrok (audit, error, function).
 */
export interface BuiltinEventType {
  name: string;
  category: string;
  source: 'audit' | 'error' | 'function';
  standard: boolean;
  isError: boolean;
  friendlyName: string;
}

type Row = [name: string, friendlyName: string, options?: { standard?: boolean; source?: 'function' }];

const byCategory: Record<string, Row[]> = {
  // Datagrok's fixed catalogue.
  query: [
    ['query-created', 'Query created'],
    ['query-edited', 'Query edited'],
    ['query-deleted', 'Query deleted'],
    ['query-start', 'Query run', { source: 'function' }],
    ['query-published', 'Query published'],
    ['query-transformations-edited', 'Query transformations edited'],
  ],
  connection: [
    ['connection-created', 'Connection created'],
    ['connection-edited', 'Connection edited'],
    ['connection-deleted', 'Connection deleted'],
    ['connection-published', 'Connection published'],
  ],
  job: [
    ['job-created', 'Job created'],
    ['job-edited', 'Job edited'],
    ['job-deleted', 'Job deleted'],
    ['job-transformations-edited', 'Job transformations edited'],
    ['job-start', 'Job run', { source: 'function' }],
    // Datameer's job actions.
    ['job-execution-started', 'Job execution started'],
    ['job-execution-stopped', 'Job execution stopped'],
    ['full-data-downloaded', 'Full data downloaded'],
  ],
  script: [
    ['script-created', 'Script created'],
    ['script-edited', 'Script edited'],
    ['script-deleted', 'Script deleted'],
    ['script-start', 'Script run', { source: 'function' }],
    ['script-published', 'Script published'],
  ],
  'predictive-model': [
    ['predictive-model-created', 'Predictive model created'],
    ['predictive-model-edited', 'Predictive model edited'],
    ['predictive-model-deleted', 'Predictive model deleted'],
    ['predictive-model-start', 'Predictive model run', { source: 'function' }],
    ['predictive-model-published', 'Predictive model published'],
  ],
  action: [['action-start', 'Action run', { source: 'function' }]],
  notebook: [
    ['notebook-created', 'Notebook created'],
    ['notebook-edited', 'Notebook edited'],
    ['notebook-deleted', 'Notebook deleted'],
    ['notebook-start', 'Notebook run', { source: 'function' }],
    ['notebook-published', 'Notebook published'],
  ],
  project: [
    ['project-created', 'Project created'],
    ['project-edited', 'Project edited'],
    ['project-deleted', 'Project deleted'],
    ['project-opened', 'Project opened'],
  ],
  sharing: [
    ['entity-shared', 'Entity shared'],
    ['entity-shared-silent', 'Entity shared silently'],
    ['user-invited', 'User invited'],
  ],
  data: [['table-produced', 'Table produced']],
  social: [['comment-posted', 'Comment posted']],
  ui: [
    ['dialog-ok', 'Dialog confirmed', { standard: false }],
    ['main-menu-item-click', 'Main menu item clicked'],
    ['viewer-rendered', 'Viewer rendered'],
    ['tutorial-completed', 'Tutorial completed'],
  ],
  log: [['log', 'Log record']],
  package: [['package-tested', 'Package tested', { standard: false }]],
  // data.world changesets and suggestions.
  changes: [
    ['resource.create', 'Resource created'],
    ['resource.update', 'Resource updated'],
    ['resource.delete', 'Resource deleted'],
    ['changeset.applied', 'Changeset applied'],
  ],
  suggestions: [
    ['suggestion.create', 'Suggestion proposed'],
    ['suggestion.approve', 'Suggestion approved'],
    ['suggestion.reject', 'Suggestion rejected'],
    ['suggestion.cancel', 'Suggestion cancelled'],
  ],
  // Datameer's user actions.
  authentication: [
    ['login', 'Login'],
    ['failed-login', 'Failed login'],
    ['login-disabled-account', 'Login attempt on a disabled account'],
    ['logout', 'Logout'],
    ['session-timeout', 'Session timeout'],
  ],
  'user-management': [
    ['user-created', 'User created'],
    ['user-deleted', 'User deleted'],
    ['user-enabled', 'User enabled'],
    ['user-disabled', 'User disabled'],
    ['user-password-updated', 'User password updated'],
    ['user-added-to-group', 'User added to group'],
    ['user-removed-from-group', 'User removed from group'],
    ['group-created', 'Group created'],
    ['group-renamed', 'Group renamed'],
    ['group-deleted', 'Group deleted'],
    ['group-updated', 'Group updated'],
    ['group-members-changed', 'Group members changed'],
    ['role-created', 'Role created'],
    ['role-renamed', 'Role renamed'],
    ['role-deleted', 'Role deleted'],
    ['role-added-to-user', 'Role added to user'],
    ['role-removed-from-user', 'Role removed from user'],
  ],
  permission: [
    ['group-permission-added', 'Group permission added'],
    ['group-permission-removed', 'Group permission removed'],
    ['full-data-group-permission-added', 'Full-data group permission added'],
    ['full-data-group-permission-removed', 'Full-data group permission removed'],
    ['others-permission-updated', 'Permission of others updated'],
    ['full-data-others-permission-updated', 'Full-data permission of others updated'],
    ['share-flag-updated', 'Share flag updated'],
    ['owner-changed', 'Owner changed'],
  ],
  filesystem: [
    ['file-created', 'File created'],
    ['file-deleted', 'File deleted'],
    ['file-edited', 'File edited'],
    ['file-moved', 'File moved'],
    ['file-renamed', 'File renamed'],
    ['folder-created', 'Folder created'],
    ['folder-deleted', 'Folder deleted'],
    ['folder-moved', 'Folder moved'],
    ['folder-renamed', 'Folder renamed'],
    ['application-imported', 'Application imported'],
    ['application-exported', 'Application exported'],
  ],
  workbook: [
    ['workbook-column-moved', 'Workbook column moved'],
    ['workbook-column-removed', 'Workbook column removed'],
    ['workbook-column-renamed', 'Workbook column renamed'],
    ['workbook-sheet-created', 'Workbook sheet created'],
    ['workbook-sheet-removed', 'Workbook sheet removed'],
    ['workbook-sheet-moved', 'Workbook sheet moved'],
    ['workbook-datasource-linked', 'Workbook data source linked'],
    ['workbook-formula-added', 'Workbook formula added'],
    ['workbook-formula-removed', 'Workbook formula removed'],
    ['workbook-filter-added', 'Workbook filter added'],
    ['workbook-filter-removed', 'Workbook filter removed'],
    ['workbook-sort-added', 'Workbook sort added'],
    ['workbook-sort-removed', 'Workbook sort removed'],
    ['workbook-join-added', 'Workbook join added'],
  ],
  // Changes to logger settings (recorded whatever the settings say).
  settings: [['logger-settings-changed', 'Logger settings changed']],
  // The service's own reads, recorded so that looking at the log leaves a trace too.
  audit: [
    ['audit-log-viewed', 'Audit log viewed'],
    ['retention-policy-changed', 'Retention policy changed'],
    ['retention-month-dropped', 'Expired month of events dropped'],
    ['access-denied', 'Access to an administrative call denied'],
    ['api-key-created', 'API key created'],
    ['api-key-revoked', 'API key revoked'],
    ['viewer-token-created', 'Viewer token created'],
  ],
};

const errorTypes: BuiltinEventType[] = [
  { name: 'error', category: 'error', source: 'error', standard: true, isError: true, friendlyName: 'Error' },
];

export const builtinEventTypes: readonly BuiltinEventType[] = [
  ...Object.entries(byCategory).flatMap(([category, rows]) =>
    rows.map(([name, friendlyName, options]) => ({
      name,
      category,
      source: options?.source ?? ('audit' as const),
      standard: options?.standard ?? true,
      isError: false,
      friendlyName,
    })),
  ),
  ...errorTypes,
];

/**
 * Types only the service records (its own reads, refusals, keys, retention and settings changes):
 * a client that could log them could forge the service's own account of who did what.
 */
export const SERVICE_RECORDED_TYPES: ReadonlySet<string> = new Set([...byCategory.audit!, ...byCategory.settings!].map(([name]) => name));

/** Category of event types created on first use. */
export const CUSTOM_CATEGORY = 'custom';
