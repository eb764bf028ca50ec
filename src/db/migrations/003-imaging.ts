// Migration 003-imaging: the image archive (devices, API tokens) and its index (studies, series, instances).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import { IMAGING_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * The image archive: registered DICOM devices and personal API tokens for
 * DICOMweb and scripts. Both are looked up before any tenant is known (like a
 * login), so neither is walled by tenant, and AE titles are unique across the
 * deployment (per office since migration 010).
 */
export function imaging(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('ae_title', 'text', (c) => c.notNull().unique())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('cert_fingerprint', 'text')
        .addColumn('cert_subject', 'text')
        .addColumn('cert_expires_at', 'text')
        .addColumn('host', 'text')
        .addColumn('port', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
      await imageIndex(db, dialect);
      if (dialect === 'postgres') await postgresWalls(db, IMAGING_TENANT_TABLES, appRole);
    },
  };
}

/**
 * The archive's index: studies, series and instances per department. Patient
 * attributes are held only encrypted and as blind-index digests; UIDs, dates
 * and technical attributes are in clear for matching.
 */
async function imageIndex(db: SchemaAtMigration, dialect: Dialect) {
  const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('studies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
    .addColumn('study_uid', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.references('persons.id'))
    .addColumn('patient_enc', bin, (c) => c.notNull())
    .addColumn('study_enc', bin, (c) => c.notNull())
    .addColumn('study_date', 'text')
    .addColumn('study_time', 'text')
    .addColumn('modalities', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('studies_uid', ['department_id', 'study_uid'])
    .execute();
  await db.schema.createIndex('studies_person').on('studies').column('person_id').execute();
  await db.schema.createIndex('studies_date').on('studies').columns(['department_id', 'study_date']).execute();
  await db.schema
    .createTable('study_index')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('study_index_lookup')
    .on('study_index')
    .columns(['tenant_id', 'digest', 'study_id'])
    .execute();
  await db.schema.createIndex('study_index_study').on('study_index').column('study_id').execute();
  await db.schema
    .createTable('series')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('series_uid', 'text', (c) => c.notNull())
    .addColumn('modality', 'text')
    .addColumn('series_number', 'integer')
    .addColumn('series_enc', bin, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('series_uid', ['study_id', 'series_uid'])
    .execute();
  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('department_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('series_id', 'text', (c) => c.notNull().references('series.id'))
    .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
    .addColumn('sop_class_uid', 'text', (c) => c.notNull())
    .addColumn('transfer_syntax_uid', 'text', (c) => c.notNull())
    .addColumn('instance_number', 'integer')
    .addColumn('rows', 'integer')
    .addColumn('columns', 'integer')
    .addColumn('frames', 'integer')
    .addColumn('bits_allocated', 'integer')
    .addColumn('pixel_offset', big)
    .addColumn('pixel_length', big)
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('received_from', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('instances_uid', ['department_id', 'sop_instance_uid'])
    .execute();
  await db.schema.createIndex('instances_series').on('instances').columns(['series_id', 'instance_number']).execute();
  await db.schema.createIndex('instances_study').on('instances').column('study_id').execute();
}
