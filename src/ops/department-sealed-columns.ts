// Issue 19: keys-online — every column sealed directly with a department's key, and how its rows
// are found and bound: what `kartei keys reencrypt-department` re-seals under the current key
// version. Each entry names the binding its module seals with (src/vault/aead.ts: tenant, table,
// row, field); a new module that seals with `keyring.departmentKey` must add its columns here
// (nothing finds a missing one for it: a column not listed keeps the earlier version, and opens
// nothing once that version is retired, until the version is brought back by clearing its
// `destroyed_at`). Every entry's query runs on both databases in
// test/ops/department-reencrypt.int.test.ts.
// Persons' own keys (wrapped with the department key) are re-wrapped by the keyring
// (`rewrapPersonKeys`); images by their stream (src/ops/department-reencrypt.ts).

export interface SealedColumn {
  table: string;
  column: string;
  /** The binding's field. */
  field: string;
  /** The row's key columns: paging order, the binding's row id (joined by ':'), and the compare-and-set. */
  keys: string[];
  /** The department is another table's: `table.<on>` = `<via>.id`, and that row's department_id. */
  via?: { table: string; on: string };
  /** Rows where this column of the department's row is not null are sealed with another key (a person's). */
  personColumn?: string;
}

const own = (table: string, keys: string[], columns: [string, string][], personColumn?: string): SealedColumn[] =>
  columns.map(([column, field]) => ({ table, column, field, keys, ...(personColumn ? { personColumn } : {}) }));

export const DEPARTMENT_SEALED_COLUMNS: SealedColumn[] = [
  // Imaging: the study and series index (src/imaging/instance-index.ts).
  ...own(
    'studies',
    ['id'],
    [
      ['patient_enc', 'patient'],
      ['study_enc', 'study'],
    ],
  ),
  { table: 'series', column: 'series_enc', field: 'series', keys: ['id'], via: { table: 'studies', on: 'study_id' } },
  // A department's own tasks (a file's are sealed with the person key): src/desk/tasks-shared.ts.
  ...own(
    'tasks',
    ['id'],
    [
      ['title_enc', 'title'],
      ['note_enc', 'note'],
    ],
    'person_id',
  ),
  // Imports: the upload and its mapping (src/desk/import-jobs.ts).
  ...own(
    'import_jobs',
    ['id'],
    [
      ['upload_enc', 'upload'],
      ['mapping_enc', 'mapping'],
    ],
  ),
  // Outbreaks and their events (src/infection/outbreaks.ts).
  ...own(
    'outbreaks',
    ['id'],
    [
      ['name_enc', 'name'],
      ['description_enc', 'description'],
    ],
  ),
  {
    table: 'outbreak_events',
    column: 'text_enc',
    field: 'text',
    keys: ['id'],
    via: { table: 'outbreaks', on: 'outbreak_id' },
  },
  // Infection cases' disease index and §11 transmissions (src/infection/case-index.ts, transmission*.ts).
  ...own('ifsg_cases', ['record_id'], [['disease_enc', 'disease']]),
  ...own('transmissions', ['id'], [['payload_enc', 'payload']]),
  ...own('transmitted_cases', ['record_id'], [['person_enc', 'person']]),
  ...own('transmission_settings', ['department_id'], [['recipient_enc', 'recipient']]),
  // The DEMIS inbox (src/infection/notification-seal.ts).
  ...own(
    'demis_notification_versions',
    ['notification_row_id', 'version'],
    [
      ['bundle_enc', 'bundle'],
      ['parsed_enc', 'parsed'],
    ],
  ),
  ...own(
    'demis_quarantine',
    ['id'],
    [
      ['bundle_enc', 'bundle'],
      ['problems_enc', 'problems'],
      ['decision_enc', 'reason'],
    ],
  ),
  ...own('demis_notifications', ['id'], [['close_reason_enc', 'reason']]),
  // The mail-room's scans: each version's data key wrapped with the department key (src/desk/documents-files.ts).
  {
    table: 'document_versions',
    column: 'data_key_enc',
    field: 'data_key',
    keys: ['document_id', 'version'],
    via: { table: 'documents', on: 'document_id' },
    personColumn: 'person_id',
  },
];
