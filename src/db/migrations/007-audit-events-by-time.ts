// Migration 007-audit-events-by-time: audit events indexed by time for the statistics.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * The audit statistics ask for a period: without an index on the time, each
 * request read every event of the office, and on SQLite the whole server
 * waited for it.
 */
export const auditEventsByTime: Migration = {
  async up(db) {
    await db.schema.createIndex('audit_events_at').on('audit_events').columns(['tenant_id', 'at']).execute();
  },
};
