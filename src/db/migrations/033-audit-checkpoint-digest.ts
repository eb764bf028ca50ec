// Migration 033-audit-checkpoint-digest: a checkpoint also signs the digest of the events it covers (issue 18/19).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

/**
 * Issue 19: audit — each checkpoint signed from now on names the sequence number it continues from
 * (`from_seq`, the previous checkpoint's), that checkpoint's hash (`prev_hash`) and the SHA-256 of the
 * events between them as stored (`digest`, `src/audit/batch-digest.ts`), so `audit verify` checks a
 * signed stretch with one hash over its rows instead of one HMAC per row. Older checkpoints keep
 * NULL there and are verified row by row, as before. The append-only triggers stay as they are.
 */
export function auditCheckpointDigest(dialect: Dialect): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      await db.schema.alterTable('audit_checkpoints').addColumn('from_seq', big).execute();
      await db.schema.alterTable('audit_checkpoints').addColumn('prev_hash', 'text').execute();
      await db.schema.alterTable('audit_checkpoints').addColumn('digest', 'text').execute();
    },
  };
}
