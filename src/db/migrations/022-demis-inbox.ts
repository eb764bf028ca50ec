// Migration 022-demis-inbox: the DEMIS inbox of a department — its notifications, each notification's
// versions (the bundles received for it) and the quarantine of bundles that were refused.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: nothing in these tables names or describes the notified person or the disease in
 * plain text. The raw bundle and its parsed facts are sealed with the department key; the disease
 * is a keyed digest for the inbox's filter; the DEMIS identifiers (NotificationId, bundle id) are
 * UUIDs DEMIS made and identify nobody. `bundle_id` is unique per department: what makes an import
 * idempotent (a bundle fetched or uploaded twice is one version).
 */
export function demisInbox(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('demis_notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('notification_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('versions', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('cancelled', 'integer', (c) => c.notNull())
        .addColumn('case_review', 'integer', (c) => c.notNull())
        .addColumn('assignee_id', 'text')
        .addColumn('disease_digest', 'text', (c) => c.notNull())
        .addColumn('notified_at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.references('persons.id'))
        .addColumn('case_record_id', 'text', (c) => c.references('records.id'))
        .addColumn('close_reason_enc', bin)
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('demis_notifications_inbox')
        .on('demis_notifications')
        .columns(['tenant_id', 'department_id', 'received_at', 'id'])
        .execute();
      await db.schema
        .createIndex('demis_notifications_disease')
        .on('demis_notifications')
        .columns(['tenant_id', 'department_id', 'disease_digest'])
        .execute();
      await db.schema
        .createTable('demis_notification_versions')
        .addColumn('notification_row_id', 'text', (c) => c.notNull().references('demis_notifications.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('bundle_id', 'text', (c) => c.notNull())
        .addColumn('notification_id', 'text', (c) => c.notNull())
        .addColumn('relates_code', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('notified_at', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('received_by', 'text', (c) => c.notNull())
        .addColumn('bundle_enc', bin, (c) => c.notNull())
        .addColumn('parsed_enc', bin, (c) => c.notNull())
        .addPrimaryKeyConstraint('demis_notification_versions_pk', ['notification_row_id', 'version'])
        .addUniqueConstraint('demis_notification_versions_bundle', ['tenant_id', 'department_id', 'bundle_id'])
        .execute();
      await db.schema
        .createIndex('demis_notification_versions_notification')
        .on('demis_notification_versions')
        .columns(['tenant_id', 'department_id', 'notification_id'])
        .execute();
      await db.schema
        .createTable('demis_quarantine')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('received_by', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('content_digest', 'text', (c) => c.notNull())
        .addColumn('bundle_enc', bin, (c) => c.notNull())
        .addColumn('problems_enc', bin, (c) => c.notNull())
        .addColumn('problem_count', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decision_enc', bin)
        .addUniqueConstraint('demis_quarantine_content', ['tenant_id', 'department_id', 'content_digest'])
        .execute();
      await db.schema
        .createIndex('demis_quarantine_list')
        .on('demis_quarantine')
        .columns(['tenant_id', 'department_id', 'received_at', 'id'])
        .execute();
      if (dialect === 'postgres')
        await postgresWalls(db, ['demis_notifications', 'demis_notification_versions', 'demis_quarantine'], appRole);
    },
  };
}
